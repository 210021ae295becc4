/*
 * Make Intel MKL treat every x86-64 CPU alike, so the fp32 numerics profile gives
 * the same bits on AMD and Intel CPUs (kernels/numerics.py).
 *
 * MKL picks its kernels by CPU vendor as well as by instruction set: on a non-Intel
 * CPU it ignores MKL_CBWR (its conditional-numerical-reproducibility branch) and
 * runs other code, whose results differ in the last bits. torch links MKL into
 * libtorch_cpu.so and exports MKL's service functions, so preloading this library
 * (LD_PRELOAD, set by the sandbox for that profile only) answers MKL's one
 * question "is this an Intel CPU?" with yes. The kernels MKL then runs are the
 * AVX2 ones that MKL_CBWR=AVX2 names; they need only AVX2 and FMA, which the
 * profile checks the CPU has. Nothing else changes.
 *
 * Built as an extension module by `pip install` (pyproject.toml), never imported.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
