# sealtree: the two commands that do everything on a fresh Debian 12 machine.
#   make demo    install what is missing, build, run the end-to-end demo
#   make check   install what is missing, build, run every test (normal build,
#                then ASan+UBSan build, then short libFuzzer runs, then a release
#                build that must compile); the last
#                line is "N passed, N failed[, N skipped]"
#   make check-boot  build a disk of a signed Debian 12 deployment and boot it
#                under QEMU with OVMF (tests/qemu/boot-image.sh; root, ~10 min
#                the first time, the Debian tree and kernel are cached), and
#                beside those boots a signed UKI of it with Secure Boot
#                (tests/qemu/uki-boot.sh, on a copy of the disk)
# Other targets: build, install, bench, clean.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_RELEASE ?= build-release
FUZZ_SECONDS ?= 20

# Debian packages needed to build, test, fuzz and demo.
DEB_PACKAGES = meson ninja-build gcc clang libclang-rt-14-dev pkg-config libssl-dev \
	python3 fsverity erofs-utils attr e2fsprogs util-linux kmod go-md2man gzip \
	busybox-static cpio xz-utils zstd qemu-system-x86 time bc strace \
	libarchive-dev libarchive-tools tar ostree dosfstools \
	dracut-core initramfs-tools-core libcurl4-openssl-dev libzstd-dev nginx-light \
	debootstrap fdisk mtools systemd-boot-efi ovmf sbsigntool binutils openssl curl file
# containers (sealtree oci: images built by umoci, archives by skopeo, run by crun;
# make demo part 4 runs the image's static busybox under crun)
DEB_PACKAGES += umoci skopeo crun podman
# the registry client (sealtree oci pull/push): a private docker-registry in the
# tests and in make demo part 4
DEB_PACKAGES += docker-registry

.PHONY: all deps build install check check-boot demo bench clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

install: build
	meson install -C $(BUILD)

check: deps
	@BUILD=$(BUILD) BUILD_ASAN=$(BUILD_ASAN) BUILD_FUZZ=$(BUILD_FUZZ) BUILD_RELEASE=$(BUILD_RELEASE) \
		FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/run-check.sh

check-boot: build
	@rc=0; BOOT_IMAGE_HOOK=$(CURDIR)/tests/qemu/uki-boot.sh \
		bash tests/qemu/boot-image.sh $(BUILD) $(BUILD)/boot-test || rc=$$?; \
	if [ $$rc = 2 ]; then echo "check-boot: SKIP: the boot test could not set up (see above)"; exit 0; fi; \
	urc=0; bash tests/qemu/uki-boot.sh wait $(BUILD)/boot-test || urc=$$?; \
	if [ $$urc = 2 ]; then echo "check-boot: SKIP: the Secure Boot UKI boot could not set up (see above)"; \
	elif [ $$urc != 0 ]; then rc=1; fi; \
	[ $$rc = 0 ] && echo "check-boot: PASS" || echo "check-boot: FAIL (logs in $(BUILD)/boot-test)"; exit $$rc

demo: build
	bash demo/demo.sh $(BUILD)
	bash demo/demo-repo.sh $(BUILD)
	bash demo/demo-host.sh $(BUILD)
	bash demo/demo-oci.sh $(BUILD)

bench: build
	@for b in bench/bench-*.sh; do echo "== $$b"; BUILD_DIR=$(BUILD) bash $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_RELEASE)
