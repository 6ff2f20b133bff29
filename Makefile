# vigil build: the BPF object, the C helpers, the N-API addon and the TypeScript.
# Every rule is incremental, so `make` is fast when nothing changed.
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
CFLAGS   ?= -O2 -g -Wall -Wextra -Werror
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
NODE_GYP := node_modules/.bin/node-gyp
# Build the addon against the headers of the node that runs it; nothing is downloaded.
NODEDIR  := $(shell node -p "require('path').resolve(process.execPath, '../..')")

B := build

all: $(B)/vigil.bpf.o $(B)/vigil-init $(B)/vigil-helper $(B)/testbin $(B)/bench-storm addon dist bundle

$(B):
	mkdir -p $(B)

# vmlinux.h comes from the build host's BTF; CO-RE relocations make the object
# portable to any kernel with BTF, so this is a build input, not a target kernel.
$(B)/vmlinux.h: | $(B)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(B)/vigil.bpf.o: bpf/vigil.bpf.c bpf/events.h $(wildcard bpf/*.bpf.h) $(B)/vmlinux.h
	$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -I$(B) -Ibpf -c $< -o $@

# vigil-init runs inside containers whose rootfs may have no libc: link it statically.
$(B)/vigil-init: native/init/vigil-init.c | $(B)
	$(CC) $(CFLAGS) -static -o $@ $<

$(B)/vigil-helper: $(wildcard native/helper/*.c native/helper/*.h) bpf/events.h | $(B)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^)

# testbin is the fault-injection fixture run inside test containers (static, as above).
$(B)/testbin: test/fixtures/testbin.c | $(B)
	$(CC) $(CFLAGS) -static -o $@ $<

# bench-storm: the fork/exit storm of the detection benchmark (bench/run.ts).
$(B)/bench-storm: bench/storm.c | $(B)
	$(CC) $(CFLAGS) -o $@ $<

addon: native/addon/build/Release/vigil_native.node
native/addon/build/Release/vigil_native.node: $(wildcard native/addon/*.c native/addon/*.h native/addon/binding.gyp) bpf/events.h
	cd native/addon && ../../$(NODE_GYP) rebuild --nodedir=$(NODEDIR) --loglevel=warn >/dev/null

dist: dist/.stamp
dist/.stamp: $(shell find src tui test bench -name '*.ts' -o -name '*.tsx' 2>/dev/null) tsconfig.json package.json
	node_modules/.bin/tsc -p . && touch $@

# The CLI as one bundled entry file (bin/vigil loads it): one module to resolve and
# compile instead of thirty, which is most of what the CLI added to Node's boot.
# Lazily imported commands (monitor, events, doctor) become chunks loaded on use;
# npm packages stay external (yaml and msgpackr are required lazily at run time).
bundle: dist/cli/main.js
dist/cli/main.js: $(shell find src tui -name '*.ts' -o -name '*.tsx' 2>/dev/null) tsconfig.json package.json
	rm -rf dist/cli
	node_modules/.bin/esbuild src/cli/main.ts --bundle --splitting --format=esm --platform=node --target=node20 \
	  --packages=external --outdir=dist/cli --chunk-names=chunk-[hash] --log-level=warning

clean:
	rm -rf $(B) dist native/addon/build

.PHONY: all addon dist bundle clean
