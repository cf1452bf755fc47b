"""Pure data contracts shared by every part of Lentur. No I/O lives here."""
