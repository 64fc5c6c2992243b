# wiremesh — build, test, install.
#
#   make            build the library, programs and unit tests (runs ./configure first if needed)
#   make check      the whole test suite: unit tests, the same under ASan+UBSan, fuzz corpora, e2e
#   make fuzz       build the libFuzzer harnesses (clang)
#   make fuzz-long  run every harness for 10 million executions (hours; test/fuzz/README.md)
#   make bench      build and run the micro benchmarks
#   make install    install the programs under $(PREFIX)
#
# Objects go to $(BUILD) (build/ normally, build-asan/ for the sanitizer run,
# build-fuzz/ for libFuzzer), so the three never mix.
#
# Quiet by default: one line per step ("  CC      build/engine/noise.o"); make V=1 shows the
# whole commands. Warnings and errors show either way.

# config.mk comes from ./configure; cleaning needs none.
ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
-include config.mk
endif

BUILD ?= build
PREFIX ?= /usr/local

# $(call quiet,WHAT) in front of a command prints "WHAT target" instead of the command; the
# sub-makes of check and fuzz keep make's own chatter ("Nothing to be done") to themselves.
ifeq ($(V),1)
quiet =
SUBMAKE_FLAGS = --no-print-directory
else
quiet = @printf '  %-7s %s\n' '$(1)' '$@';
SUBMAKE_FLAGS = --no-print-directory -s
endif

CC ?= cc
CFLAGS ?= -O2 -g

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ifeq ($(SANITIZE),yes)
EXTRA_CFLAGS += $(SAN_FLAGS)
EXTRA_LDFLAGS += $(SAN_FLAGS)
endif

# Optional OpenSSL libcrypto (configure detects it): the faster ChaCha20-Poly1305 in engine/aead.c.
ifeq ($(WITH_OPENSSL),yes)
DEPS_CFLAGS += -DWM_WITH_OPENSSL $(OPENSSL_CFLAGS)
DEPS_LIBS += $(OPENSSL_LIBS)
endif

ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -I. $(DEPS_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)

LIB_SRCS := $(sort $(wildcard common/*.c engine/*.c filter/*.c tun/*.c nat/*.c relay-client/*.c \
	coord-client/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libwiremesh.a

# Shared in-process harness (two engines wired through in-memory TUN and UDP).
INPROC_OBJS := $(BUILD)/test/inproc.o

UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/test/%)

DEMO := $(BUILD)/wiremesh-demo

DAEMON_SRCS := $(sort $(wildcard daemon/*.c))
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
DAEMON := $(BUILD)/wiremesh

# The DERP relay, its test client and its load generator.
RELAY_SRCS := $(sort $(wildcard relay-server/*.c))
RELAY_OBJS := $(RELAY_SRCS:%.c=$(BUILD)/%.o)
RELAY := $(BUILD)/wiremesh-relay
DERP_TOOL := $(BUILD)/test/derp-tool
RELAY_LOAD := $(BUILD)/bench/relay_load

# The coordination server (SQLite), its test client and its load generator. Unit tests of its
# parts link its objects (all but main.o).
COORD_SRCS := $(sort $(wildcard coord-server/*.c))
COORD_OBJS := $(COORD_SRCS:%.c=$(BUILD)/%.o)
COORD_PART_OBJS := $(filter-out $(BUILD)/coord-server/main.o,$(COORD_OBJS))
COORD := $(BUILD)/wiremesh-coord
COORD_TOOL := $(BUILD)/test/coord-tool
COORD_LOAD := $(BUILD)/bench/coord_load
COORD_UNIT_BINS := $(BUILD)/test/test_coord_store $(BUILD)/test/test_coord_server \
	$(BUILD)/test/test_coord_policy

# FUZZ_BUILD=DIR builds the harnesses elsewhere (while build-fuzz/ is busy with long runs).
FUZZ_BUILD ?= build-fuzz
FUZZ_SRCS := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:test/fuzz/%.c=$(FUZZ_BUILD)/%)

BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.SECONDARY:
.PHONY: all check unit-tests fuzz fuzz-long bench demo install clean distclean

all: $(LIB) $(DAEMON) $(RELAY) $(DERP_TOOL) $(RELAY_LOAD) $(COORD) $(COORD_TOOL) $(COORD_LOAD) \
	$(DEMO) $(UNIT_BINS)

# Made once; rerun ./configure yourself to change options (it records its command line).
config.mk:
	@./configure || { echo "configure: installing missing dependencies with scripts/install-deps"; \
		scripts/install-deps && ./configure; }

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(call quiet,CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(call quiet,AR)$(AR) rcs $@ $^

$(BUILD)/test/%: $(BUILD)/test/unit/%.o $(INPROC_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DEPS_LIBS)

$(BUILD)/test/unit/%.o: test/unit/%.c config.mk
	@mkdir -p $(dir $@)
	$(call quiet,CC)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(DAEMON): $(DAEMON_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)

$(RELAY): $(RELAY_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)

$(DERP_TOOL): $(BUILD)/test/derp_tool.o $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)

# The relay's unit test also links the relay's own modules (all but main).
$(BUILD)/test/test_derp_relay: $(BUILD)/test/unit/test_derp_relay.o \
		$(filter-out %/main.o,$(RELAY_OBJS)) $(INPROC_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DEPS_LIBS)

$(COORD_OBJS): EXTRA_CFLAGS += $(SQLITE_CFLAGS)

$(COORD): $(COORD_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SQLITE_LIBS) $(DEPS_LIBS)

$(COORD_TOOL): $(BUILD)/test/coord_tool.o $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)

$(COORD_UNIT_BINS): $(BUILD)/test/%: $(BUILD)/test/unit/%.o $(COORD_PART_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(SQLITE_LIBS) $(DEPS_LIBS)

# Unit tests of daemon parts link just the part they test.
$(BUILD)/test/test_state: $(BUILD)/test/unit/test_state.o $(BUILD)/daemon/state.o $(INPROC_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DEPS_LIBS)

$(BUILD)/test/test_control: $(BUILD)/test/unit/test_control.o $(BUILD)/daemon/control.o \
		$(INPROC_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DEPS_LIBS)

$(BUILD)/test/test_routes: $(BUILD)/test/unit/test_routes.o $(BUILD)/daemon/routes.o \
		$(BUILD)/daemon/snat.o $(INPROC_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DEPS_LIBS)

$(DEMO): $(BUILD)/test/demo.o $(INPROC_OBJS) $(LIB)
	$(call quiet,LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)

unit-tests: $(UNIT_BINS)

# As root: a local mesh (coord + relay + three nodes in namespaces). Otherwise the in-process
# engine demo, which needs no privileges.
demo: all
	@if [ "$$(id -u)" = 0 ]; then scripts/demo-mesh $(BUILD); else \
		echo "(not root: showing the in-process engine demo; as root, make demo runs a local mesh)"; \
		$(DEMO); fi

# The test command: unit tests twice (plain, then ASan+UBSan), fuzz corpora, e2e; a line per
# stage, the counts at the end.
check: config.mk
	@echo "== building (build/)"
	@$(MAKE) $(SUBMAKE_FLAGS) BUILD=build all
	@echo "== building the unit tests with ASan+UBSan (build-asan/)"
	@$(MAKE) $(SUBMAKE_FLAGS) BUILD=build-asan SANITIZE=yes unit-tests
	@if [ -n "$(FUZZ_CC)" ]; then echo "== building the fuzz targets (build-fuzz/)"; \
		$(MAKE) $(SUBMAKE_FLAGS) fuzz; else echo "== no fuzz targets: configure found no clang"; fi
	@echo "== running the tests (test/run-tests)"
	@test/run-tests

FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -g -O1 $(WARN) -I. $(DEPS_CFLAGS) \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/test/inproc.o

$(FUZZ_BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(call quiet,CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS) config.mk
	$(call quiet,CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) \
		$(DEPS_LIBS)

# The policy parser and compiler are in coord-server/ but pure (no SQLite): linked in alone.
FUZZ_POLICY_OBJS := $(patsubst %,$(FUZZ_BUILD)/coord-server/%.o,policy policy_words policy_compile policy_eval)
$(FUZZ_BUILD)/fuzz_policy: test/fuzz/fuzz_policy.c $(FUZZ_LIB_OBJS) $(FUZZ_POLICY_OBJS) config.mk
	$(call quiet,CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) \
		$(FUZZ_POLICY_OBJS) $(DEPS_LIBS)

# The control socket's request framing (daemon/control.c) and the status reply's printer
# (daemon/cli_status.c), linked in alone.
FUZZ_CONTROL_OBJS := $(FUZZ_BUILD)/daemon/control.o $(FUZZ_BUILD)/daemon/cli_status.o
$(FUZZ_BUILD)/fuzz_control: test/fuzz/fuzz_control.c $(FUZZ_LIB_OBJS) $(FUZZ_CONTROL_OBJS) config.mk
	$(call quiet,CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) \
		$(FUZZ_CONTROL_OBJS) $(DEPS_LIBS)

fuzz: config.mk
	@if [ -z "$(FUZZ_CC)" ]; then echo "make fuzz needs clang (apt-get install clang)"; exit 1; fi
	@$(MAKE) $(SUBMAKE_FLAGS) $(FUZZ_BINS)

# Hours, not part of check: each target in turn for 10 million executions (FUZZ_RUNS=N for
# another count, FUZZ_TARGETS="uapi stun" for some); findings go to $(FUZZ_BUILD)/findings/.
fuzz-long: fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) test/fuzz/run-long $(if $(FUZZ_RUNS),-n $(FUZZ_RUNS)) $(FUZZ_TARGETS)

$(BUILD)/bench/%: bench/%.c $(INPROC_OBJS) $(LIB) config.mk
	@mkdir -p $(dir $@)
	$(call quiet,CCLD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(INPROC_OBJS) $(LIB) $(DEPS_LIBS)

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

install: $(DAEMON) $(RELAY) $(COORD)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(DAEMON) $(DESTDIR)$(PREFIX)/bin/wiremesh
	install -m 0755 $(RELAY) $(DESTDIR)$(PREFIX)/bin/wiremesh-relay
	install -m 0755 $(COORD) $(DESTDIR)$(PREFIX)/bin/wiremesh-coord

clean:
	rm -rf build build-asan build-fuzz

distclean: clean
	rm -f config.mk

-include $(LIB_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(RELAY_OBJS:.o=.d) $(COORD_OBJS:.o=.d) $(wildcard $(BUILD)/test/*.d $(BUILD)/test/unit/*.d $(BUILD)/bench/*.d $(FUZZ_BUILD)/*/*.d)
