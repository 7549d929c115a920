# make bench: bench/run.py (issue 5) boots stage0, qboot and SeaBIOS side by
# side and writes bench/results.md and bench/chart.png; a few minutes.
# `make bench-quick`: 3 runs per variant instead of 5. BENCH_ARGS passes
# more options (for example BENCH_ARGS="--only firmware,size").
# Debian's python3, which has python3-matplotlib, even when another python3
# comes first on PATH.
BENCH_PYTHON ?= $(firstword $(wildcard /usr/bin/python3) $(PYTHON))

.PHONY: bench bench-quick
bench: deps all
	@$(MAKE) --no-print-directory container-tools || echo "bench: could not build build/stage0: the converter benchmark will say pending"
	$(BENCH_PYTHON) bench/run.py $(BENCH_ARGS)

bench-quick: deps all
	@$(MAKE) --no-print-directory container-tools || echo "bench: could not build build/stage0: the converter benchmark will say pending"
	$(BENCH_PYTHON) bench/run.py --quick $(BENCH_ARGS)
