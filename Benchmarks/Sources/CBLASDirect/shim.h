// Direct OpenBLAS access for benchmarks that compare our matmul with a bare cblas_sgemm call.
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
