// Shows only the date and location fields that apply to the chosen kind; the hidden ones are disabled so
// they are neither submitted nor reachable by keyboard. Without this script every field stays visible and
// the server still takes only what the chosen kind uses.
(function () {
  "use strict";

  function chosenKind(form) {
    var fixed = form.querySelector("input[name='jenis_tetap']");
    if (fixed) return fixed.value;
    var checked = form.querySelector("input[name='jenis']:checked");
    return checked ? checked.value : "";
  }

  function sync(form) {
    var kind = chosenKind(form);
    form.querySelectorAll("fieldset[data-kinds]").forEach(function (fieldset) {
      var applies = fieldset.getAttribute("data-kinds").split(" ").indexOf(kind) !== -1;
      fieldset.hidden = !applies;
      fieldset.disabled = !applies;
    });
  }

  function init() {
    var form = document.getElementById("formulir-pengajuan");
    if (!form) return;
    sync(form);
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "jenis") sync(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
