"""What a crawl keeps between runs: its identity, its JOBDIR job, OUTPUT_DIR's layout
and what earlier runs committed."""
