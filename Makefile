# bypassbench — plain Makefile (pkg-config, -Werror, sanitizer build, version stamp).
#
#   make            build bin/bypassbench (needs the libraries: make deps first)
#   make deps       install every Debian package the project needs (skips present ones;
#                   apt's output goes to $(BUILD)/deps.log, one line per step here)
#   make run        deps + build + a suite (SUITE=, default suites/default.ini), results
#                   and report
#   make test       deps + build + unit tests (plain and ASan+UBSan) + fuzz smoke +
#                   integration (root); the last line counts passed, failed and skipped
#   make asan       ASan+UBSan build into build-asan/ and bin/bypassbench-asan
#   make bench      deps + benchmarks with ratios against named peers (never fails on timing)
#   make fuzz       build the libFuzzer targets (clang)
#   make fresh-check  the README's two commands in a Debian 12 root made from nothing
#
# The targets that need packages (run, test, bench, ci-regress, baseline) run
# `deps` first and then a second make, which reads pkg-config afresh: what this
# make saw before `deps` installed anything must not decide the build.

CC      ?= cc
.DEFAULT_GOAL := all
BUILD   ?= build
BIN     ?= bin/bypassbench
SUITE   ?= suites/default.ini
VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

PKGS    := jansson inih libpcap
PKG_OK  := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo 1)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation
OPT     ?= -O2 -g
CFLAGS  ?=
ALL_CFLAGS := $(OPT) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE $(WARN) -MMD -MP -I. \
           -DBB_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -lpthread $(EXTRA_LDLIBS)

# DPDK is optional at build time: without it the dpdk backend is left out of
# the driver tables and `bypassbench doctor` says why. Its headers (and
# -march) apply only to the files that include them.
HAVE_DPDK := $(shell pkg-config --exists libdpdk 2>/dev/null && echo 1)
ifeq ($(HAVE_DPDK),1)
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk)
ALL_CFLAGS += -DHAVE_DPDK
LDLIBS += $(shell pkg-config --libs libdpdk)
DPDK_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(wildcard drivers/dpdk/*.c)) $(BUILD)/drivers/ustack/netio_dpdk.o $(BUILD)/kni/kni_rte.o $(BUILD)/harness/cli/pdump.o $(BUILD)/harness/run/pdump.o
$(DPDK_OBJS): ALL_CFLAGS += $(DPDK_CFLAGS)
endif

# AF_XDP is optional at build time too: the afxdp backend needs libxdp and
# libbpf (pkg-config) and clang to build its XDP program (-target bpf); without
# them it is left out of the driver tables and `bypassbench doctor` says why.
# The program's object is embedded into the binary (.incbin in afxdp_prog.c), so
# nothing has to be found at run time.
HAVE_AFXDP := $(shell pkg-config --exists libxdp libbpf 2>/dev/null && command -v clang >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_AFXDP),1)
AFXDP_BPF := $(BUILD)/drivers/bpf/afxdp_redirect.bpf.o
ALL_CFLAGS += -DHAVE_AFXDP
LDLIBS += $(shell pkg-config --libs libxdp libbpf)
$(BUILD)/drivers/afxdp_prog.o: $(AFXDP_BPF)
$(BUILD)/drivers/afxdp_prog.o: ALL_CFLAGS += -DAFXDP_BPF_OBJ='"$(AFXDP_BPF)"'
# nginx's configuration for `dut = client` suites is embedded too (.incbin)
$(BUILD)/harness/run/fixed_server.o: harness/run/nginx.conf
$(AFXDP_BPF): drivers/bpf/afxdp_redirect.bpf.c drivers/bpf/afxdp_maps.h $(BUILD)/config.txt
	@mkdir -p $(dir $@)
	clang -O2 -g -target bpf -Wall -Werror -I. -I/usr/include/$(shell $(CC) -dumpmachine) -c -o $@ $<
endif

# liburing is optional at build time too: without it the io_uring backend
# (drivers/io_uring.c, all inside #ifdef HAVE_LIBURING) is left out of the
# driver table and `bypassbench doctor` says why.
HAVE_LIBURING := $(shell pkg-config --exists liburing 2>/dev/null && echo 1)
ifeq ($(HAVE_LIBURING),1)
ALL_CFLAGS += -DHAVE_LIBURING $(shell pkg-config --cflags liburing)
LDLIBS += $(shell pkg-config --libs liburing)
endif

# Library code: everything but harness/main.c. Tests link against it.
LIB_SRCS  := $(wildcard drivers/*.c drivers/dpdk/*.c drivers/ustack/*.c workloads/*.c kni/*.c harness/*/*.c) \
	     preload/fdtab.c preload/pepoll.c
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/harness/main.o
TEST_SRCS := $(wildcard tests/*/test_*.c tests/*/*/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
BENCH_BINS := $(BUILD)/bench/ustack_ipr $(BUILD)/bench/loadgen_ipr
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
# Test rigs (tests/rig/: the stack over memlink on a virtual clock, ...), shared
# by the unit tests, the bench binaries and the fuzz targets.
RIG_SRCS  := $(wildcard tests/rig/*.c)
RIG_OBJS  := $(RIG_SRCS:%.c=$(BUILD)/%.o)

# libbbpreload.so (issue 17, preload/): unmodified programs over our stack,
# loaded by `bypassbench exec`. Its objects are built position-independent
# into $(BUILD)/pic/, every symbol hidden but the wrapped C library calls.
# Named after the binary: bin/libbbpreload.so beside bin/bypassbench,
# bin/libbbpreload-asan.so beside bin/bypassbench-asan.
PRELOAD_SO   := $(dir $(BIN))libbbpreload$(patsubst bypassbench%,%,$(notdir $(BIN))).so
PRELOAD_SRCS := $(wildcard preload/*.c drivers/*.c drivers/ustack/*.c) workloads/units.c $(if $(HAVE_DPDK),$(wildcard drivers/dpdk/*.c)) \
		$(filter-out kni/kni_rte.c,$(wildcard kni/*.c)) $(if $(KNI),kni/kni_rte.c)
PRELOAD_OBJS := $(PRELOAD_SRCS:%.c=$(BUILD)/pic/%.o)
ifeq ($(HAVE_DPDK),1)
$(filter $(BUILD)/pic/drivers/dpdk/% $(BUILD)/pic/drivers/ustack/netio_dpdk.o $(BUILD)/pic/kni/kni_rte.o,$(PRELOAD_OBJS)): ALL_CFLAGS += $(DPDK_CFLAGS)
endif
ifeq ($(HAVE_AFXDP),1)
$(BUILD)/pic/drivers/afxdp_prog.o: $(AFXDP_BPF)
$(BUILD)/pic/drivers/afxdp_prog.o: ALL_CFLAGS += -DAFXDP_BPF_OBJ='"$(AFXDP_BPF)"'
endif
$(BUILD)/pic/%.o: %.c $(BUILD)/config.txt
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<
$(PRELOAD_SO): $(PRELOAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -Wl,--no-undefined -Wl,-z,defs -o $@ $^ $(LDFLAGS) $(LDLIBS) -ldl

.PHONY: FORCE all deps deps-test deps-bench run test unit integration fuzz fuzz-smoke asan bench bench-bins clean format
all: $(BIN) $(PRELOAD_SO)

$(BIN): $(MAIN_OBJ) $(BUILD)/libbb.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Made afresh every time: objects of the same name in different folders
# (harness/cli/topo.o, harness/run/topo.o) are all kept only when the archive
# is built in one go; `ar r` into an existing archive would replace one with
# the other.
$(BUILD)/libbb.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(BUILD)/config.txt
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The version stamp changes with every commit: rebuild what embeds it.
$(BUILD)/version.txt: FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = "$(VERSION) $(GIT_COMMIT)" ] || echo "$(VERSION) $(GIT_COMMIT)" > $@
$(BUILD)/harness/main.o $(BUILD)/harness/run/sysinfo.o: $(BUILD)/version.txt
$(BUILD)/harness/run/sysinfo.o: ALL_CFLAGS += -DBB_GIT_COMMIT='"$(GIT_COMMIT)"'
$(BUILD)/tests/harness/run/test_sysinfo: $(BUILD)/version.txt
FORCE:

# The build configuration stamp: what this make detected (DPDK, KNI) and the
# flags it compiles with (sanitizers among them). Every object, test and bench
# binary depends on it, so a change rebuilds them all: an object built without
# DPDK is never linked into a build with it. A missing library stops here,
# with the fix, rather than in 500 link errors.
BUILD_CONFIG := cc=$(CC) dpdk=$(or $(HAVE_DPDK),0) kni=$(or $(KNI),0) afxdp=$(or $(HAVE_AFXDP),0) liburing=$(or $(HAVE_LIBURING),0) opt=$(OPT) cflags=$(CFLAGS) \
	extra_cflags=$(EXTRA_CFLAGS) extra_ldlibs=$(EXTRA_LDLIBS) pkg=$(PKG_CFLAGS) $(PKG_LIBS) \
	dpdk_flags=$(DPDK_CFLAGS) ldflags=$(LDFLAGS) ldlibs=$(LDLIBS)
$(BUILD)/config.txt: FORCE
	@[ "$(PKG_OK)" = 1 ] || { echo "build: the libraries $(PKGS) are not installed (pkg-config cannot find them): run 'make deps' as root, or 'make run' / 'make test', which run it first" >&2; exit 1; }
	@mkdir -p $(dir $@)
	@printf '%s\n' "$(subst ",\",$(BUILD_CONFIG))" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else \
	  [ -f $@ ] && echo "build: configuration changed, rebuilding $(BUILD)/ ($$(tr ' ' '\n' < $@.tmp | grep -E '^(dpdk|kni|afxdp|liburing)=' | tr '\n' ' '))"; \
	  mv $@.tmp $@; fi

$(BUILD)/librig.a: $(RIG_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(BUILD)/librig.a $(BUILD)/libbb.a $(BUILD)/config.txt
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/librig.a $(BUILD)/libbb.a $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs criterion)

$(BUILD)/bench/%: bench/%.c $(BUILD)/librig.a $(BUILD)/libbb.a $(BUILD)/config.txt
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/librig.a $(BUILD)/libbb.a $(LDFLAGS) $(LDLIBS)
bench-bins: $(BENCH_BINS)

# ---- packages ---------------------------------------------------------------
# ci/deps.sh installs what is missing, one line per group saying why, apt's
# own output in $(BUILD)/deps.log (its tail is shown on failure).
deps:
	@LOG=$(BUILD)/deps.log ci/deps.sh $(DEPS_EXTRA)
# make test also runs the LaTeX figure test, the preload tests (tests/integration/
# 75_preload_*.sh) and the runs-across-hosts test, so it installs pdflatex, ab,
# redis and sshd (make run does not)
deps-test:
	@LOG=$(BUILD)/deps.log ci/deps.sh +latex +apps +ssh
# make bench runs suites/apps.ini (stock nginx, wrk, ab, redis): +apps
deps-bench:
	@LOG=$(BUILD)/deps.log ci/deps.sh +apps

# ---- the two commands, and the other targets that need packages -------------
# Each runs deps, then a make of its own that reads pkg-config afresh.
run: deps
	@+$(MAKE) --no-print-directory all
	$(abspath $(BIN)) run $(SUITE)

test: deps-test
	@+MAKE="$(MAKE)" BUILD=$(BUILD) BIN=$(BIN) tests/run-all.sh

bench: deps-bench
	@+$(MAKE) --no-print-directory all bench-bins
	BB=$(BIN) BUILD=$(BUILD) bench/bench.sh

unit: $(TEST_BINS)
	@RESULTS=$(or $(UNIT_RESULTS),$(BUILD)/test-results/unit.txt) tests/run-unit.sh $(TEST_BINS)

integration: all bench-bins
	@BB=$(BIN) BUILD=$(BUILD) RESULTS=$(or $(INTEGRATION_RESULTS),$(BUILD)/test-results/integration.txt) tests/run-integration.sh

ASAN_FLAGS := BUILD=build-asan BIN=bin/bypassbench-asan OPT="-O1 -g" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined"
asan:
	@+$(MAKE) --no-print-directory $(ASAN_FLAGS) bin/bypassbench-asan bin/libbbpreload-asan.so
asan-unit:
	@+$(MAKE) --no-print-directory $(ASAN_FLAGS) unit

FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRCS))
fuzz: $(FUZZ_BINS)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(wildcard tests/rig/*.[ch])
	@mkdir -p build-fuzz
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I. $(PKG_CFLAGS) \
	  -DBB_VERSION='"$(VERSION)"' -fsanitize=fuzzer,address,undefined -o $@ $< \
	  $(filter-out harness/%,$(LIB_SRCS)) $(RIG_SRCS) -lm -lpthread

# Each fuzz target runs for a bounded number of inputs: a smoke test, not a campaign.
fuzz-smoke: fuzz
	@RESULTS=$(or $(FUZZ_RESULTS),build-fuzz/fuzz.txt) tests/run-fuzz.sh $(FUZZ_BINS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-kni bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- rte_kni (DESIGN §7) ----------------------------------------------------
# Debian's DPDK 22.11 is built without KNI: `make kni-lib` (root: apt) fetches
# Debian's own dpdk source package into build/dpdk-src (ci/dpdk-source.sh adds
# a deb-src copy of the Debian entry for as long as it takes and then removes
# it, leaving the apt sources as it found them) and builds its lib/kni into
# build/kni/librte_kni.a (headers in build/kni/include); `make KNI=1` then
# compiles the rte_kni exception-path backend (kni/kni_rte.c) and links it.
KNI_DIR     := build/kni
KNI_LIB     := $(KNI_DIR)/librte_kni.a
.PHONY: kni-lib
kni-lib: $(KNI_LIB)
build/dpdk-src/.fetched:
	@DEST=build/dpdk-src ci/dpdk-source.sh
	@touch $@
$(KNI_LIB): build/dpdk-src/.fetched
	@mkdir -p $(KNI_DIR)/include
	src=$$(ls -d build/dpdk-src/dpdk-*/ | head -1); \
	[ -n "$$src" ] || { echo "kni-lib: no dpdk-*/ in build/dpdk-src" >&2; exit 1; }; \
	cp $$src/lib/kni/rte_kni.h $$src/lib/kni/rte_kni_common.h $(KNI_DIR)/include/ && \
	$(CC) -O2 -g -fPIC $$(pkg-config --cflags libdpdk) -DALLOW_EXPERIMENTAL_API -DALLOW_INTERNAL_API \
	  -I$$src/lib/kni -c -o $(KNI_DIR)/rte_kni_lib.o $$src/lib/kni/rte_kni.c
	ar rcs $@ $(KNI_DIR)/rte_kni_lib.o
ifeq ($(KNI),1)
ALL_CFLAGS += -DHAVE_RTE_KNI -I$(KNI_DIR)/include
LDLIBS := $(abspath $(KNI_LIB)) $(LDLIBS)
$(BUILD)/kni/kni_rte.o: $(KNI_LIB)
endif

# CI compiles and links the rte_kni backend against the library built from
# Debian's source package, runs the exception-path unit tests in that build,
# and checks that doctor sees the backend as built in (it cannot run here:
# no rte_kni.ko), not as left out.
.PHONY: kni-check
kni-check: deps
	@+$(MAKE) --no-print-directory kni-lib
	@+$(MAKE) --no-print-directory KNI=1 BUILD=build-kni BIN=build-kni/bypassbench build-kni/bypassbench \
	  build-kni/tests/kni/test_exc_wrap build-kni/tests/kni/test_classify
	build-kni/tests/kni/test_exc_wrap && build-kni/tests/kni/test_classify
	@nm build-kni/bypassbench | grep -q ' T rte_kni_alloc' || { echo "kni-check: rte_kni not linked" >&2; exit 1; }
	@line=$$(build-kni/bypassbench doctor | grep '^  =>   exception path:'); echo "$$line"; \
	echo "$$line" | grep -q 'rte_kni ' || { echo "kni-check: doctor does not report rte_kni" >&2; exit 1; }; \
	! echo "$$line" | grep -q 'rte_kni no (not built' || { echo "kni-check: doctor says rte_kni is not built in a KNI=1 build" >&2; exit 1; }

# --- CI regression gates (issue 6; ci/) --------------------------------------
#   make ci-regress  suites/ci.ini into $(BUILD)/ci-results, `bypassbench compare`
#                    against ci/baselines/ci-results ($(BUILD)/ci-report.md,
#                    $(BUILD)/ci-junit.xml), then the instructions-per-request gate;
#                    non-zero on a regression in either, or when a trial fails
#                    (root: namespaces)
#   make baseline    refresh ci/baselines/ (both gates) and record the environment
#   make ipr-gate    only the deterministic gate (callgrind; .ci/run runs it)
.PHONY: ci-regress baseline ipr-gate fresh-check
ipr-gate: $(BUILD)/bench/ustack_ipr
	@IPR=$(BUILD)/bench/ustack_ipr ci/ipr_gate.sh --both

ci-regress: deps
	@+$(MAKE) --no-print-directory all bench-bins
	BB=$(BIN) BUILD=$(BUILD) CI_SUITE=suites/ci.ini ci/regress.sh

baseline: deps
	@+$(MAKE) --no-print-directory all bench-bins
	BB=$(BIN) IPR=$(BUILD)/bench/ustack_ipr OUT=$(BUILD)/ci-baseline ci/baseline.sh

# The README's two commands in a Debian 12 root made from nothing (mmdebstrap),
# on a git clone of HEAD: a missing install step fails here. FRESH_SUITE is
# the suite its `make run` uses (default suites/quick.ini).
fresh-check:
	ci/fresh-check.sh
