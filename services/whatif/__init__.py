"""Policy what-if: judge the recorded requests again under a draft pack, before anyone is affected."""
