bench:
	Benchmarks/run-all.sh

bench-quick:
	Benchmarks/run-all.sh --quick

.PHONY: bench bench-quick
