"""The build pipeline: config -> sources -> rendered bodies -> site -> plan -> files, the full
path, handing over to the quick path when only article bodies changed."""
