# Glue between the rules and their helpers (no rules, no functions). The helper logic lives
# in workflows/helpers/, plain Python that tests import without Snakemake: helpers/common.py
# (paths, regions parsed by genorrn.regions, scatter arithmetic, options, run folders,
# defaults from genorrn.recipes) and one module per task (splice.py, structure.py,
# variants.py). Regions in config and on the genorrn command line are 1-based inclusive,
# samtools style (CHROM:START-END), parsed exactly as the CLI parses them.

import sys

if workflow.basedir not in sys.path:
    sys.path.insert(0, workflow.basedir)

import helpers

# A renamed key (e.g. splice.predict.chunk_size -> scatter_size) stops the run with a message
# naming the new key, before the schema's generic "additional property" error.
helpers.check_renamed_keys(config)

wf = helpers.Workflow(config, workflow.basedir)
splice = wf.splice
structure = wf.structure
variants = wf.variants
results = wf.results
logs = wf.logs
