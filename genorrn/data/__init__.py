"""Windows, labels, fixed splits and input pipelines built from genomes and annotations."""
