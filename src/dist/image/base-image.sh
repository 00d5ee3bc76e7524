#!/usr/bin/env bash
# Builds the base of medsearch's OCI image: a minimal Debian bookworm with Debian's OpenJDK 17 runtime,
# a non-root user (uid/gid 10001) owning /data, /index, /model and /audit, and the image's health check, written
# as a `docker save`-style tarball (manifest.json, config, one gzipped layer) that Jib reads as
# <from><image>tar://...</image></from> and that `docker load` / `podman load` also take.
#
#   src/dist/image/base-image.sh tar://OUT.tar   (or OUT.tar; any other image reference: nothing to do)
#
# No registry and no Docker daemon are needed, only Debian's package mirror: debootstrap makes the root
# file system, apt-get in a chroot adds the JRE and the security updates. That needs root (chroot and
# mount). `mvn package` runs this once per machine when the tarball is missing (the cache is
# ~/.cache/medsearch/image-base/, see pom.xml: image.base, whose file name changes with this script's
# output); delete the tarball to rebuild it, e.g. for newer security updates. Another base, from a registry: mvn package -Dimage.base=eclipse-temurin:17-jre
#
# Environment: MEDSEARCH_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              MEDSEARCH_DEBIAN_SECURITY (default http://deb.debian.org/debian-security).
set -euo pipefail

ref="${1:?usage: base-image.sh tar://OUT.tar}"
case "$ref" in
  tar://*) out="${ref#tar://}" ;;
  /*.tar | ./*.tar) out="$ref" ;;
  *) exit 0 ;; # an image from a registry: Jib pulls it
esac
# built already (the usual case): nothing to check
if [ -s "$out" ]; then
  exit 0
fi
suite=bookworm
mirror="${MEDSEARCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${MEDSEARCH_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
uid=10001

fail() {
  echo "base-image.sh: $*" >&2
  echo "base-image.sh: the image build needs its base. Either fix the above and build again, or choose a base" \
    "from a registry (mvn -B package -Dimage.base=eclipse-temurin:17-jre), or leave the image out (-Djib.skip=true)." >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "building the base image (debootstrap, chroot) needs root; run the build once as root"
export PATH="$PATH:/usr/sbin:/sbin"
for tool in debootstrap chroot mount umount mountpoint tar gzip sha256sum flock; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install debootstrap; .ci/run does)"
done

out_dir="$(dirname "$out")"
mkdir -p "$out_dir"
# two builds at once on one machine (two checkouts) wait for each other instead of both debootstrapping
exec 9>"$out.lock"
flock 9
if [ -s "$out" ]; then
  exit 0
fi

start=$SECONDS
work="$(mktemp -d "$out_dir/.base-image.XXXXXX")"
root="$work/rootfs"
cleanup() {
  mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
  rm -rf "$work"
}
trap cleanup EXIT

echo "base-image.sh: building the image's base (Debian $suite, OpenJDK 17 JRE) once into $out; a few minutes..." >&2
log="$work/build.log"
step() {
  if ! "$@" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    fail "failed: $*"
  fi
}

step debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror"
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
# no service starts in the chroot
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
in_root() { step chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -q
in_root apt-get -y -q upgrade
in_root apt-get install -y -q --no-install-recommends openjdk-17-jre-headless
in_root groupadd --gid "$uid" medsearch
in_root useradd --uid "$uid" --gid "$uid" --home-dir /home/medsearch --create-home --shell /usr/sbin/nologin medsearch
in_root apt-get clean
umount "$root/proc"
arch="$(chroot "$root" dpkg --print-architecture)"
java_home="/usr/lib/jvm/java-17-openjdk-$arch"
[ -x "$root$java_home/bin/java" ] || fail "no java in $java_home after the install"
jre="$(chroot "$root" dpkg-query -W -f '${Version}' openjdk-17-jre-headless)"

for d in data index model audit; do
  mkdir -p "$root/$d"
  chown "$uid:$uid" "$root/$d"
done
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
  "$root"/var/log/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/tmp/* "$root"/root/.bash_history
# the packages' documentation less their copyright files: those (their licences) go with the image
find "$root/usr/share/doc" -mindepth 2 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"

# one layer: the root file system less what a container runtime mounts over it (/proc, /sys, /dev)
image="$work/image"
mkdir -p "$image"
(
  cd "$root"
  shopt -s dotglob
  tar --numeric-owner --sort=name --exclude='proc/*' --exclude='sys/*' --exclude='dev/*' -cf "$image/layer.tar" -- *
)
diff_id="$(sha256sum "$image/layer.tar" | cut -d' ' -f1)"
gzip -n -6 "$image/layer.tar"
mkdir -p "$image/$diff_id"
mv "$image/layer.tar.gz" "$image/$diff_id/layer.tar.gz"

created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# The health check (Jib keeps the base's; it cannot set one itself): /opt/medsearch/bin/healthcheck is
# added by the medsearch image (src/dist/image/healthcheck), GET /api/health on port 8080.
cat >"$image/config.json" <<CONFIG
{
  "architecture": "$arch",
  "os": "linux",
  "created": "$created",
  "config": {
    "Env": [
      "PATH=$java_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "JAVA_HOME=$java_home",
      "LANG=C.UTF-8"
    ],
    "Cmd": ["/bin/bash"],
    "WorkingDir": "/",
    "Healthcheck": {
      "Test": ["CMD", "/opt/medsearch/bin/healthcheck"],
      "Interval": 30000000000,
      "Timeout": 10000000000,
      "StartPeriod": 300000000000,
      "Retries": 3
    },
    "Labels": {
      "org.medsearch.base": "Debian $suite (minbase) + openjdk-17-jre-headless $jre, uid $uid, by src/dist/image/base-image.sh"
    }
  },
  "rootfs": {"type": "layers", "diff_ids": ["sha256:$diff_id"]},
  "history": [{"created": "$created", "created_by": "src/dist/image/base-image.sh: debootstrap $suite, openjdk-17-jre-headless $jre"}]
}
CONFIG
config_id="$(sha256sum "$image/config.json" | cut -d' ' -f1)"
mv "$image/config.json" "$image/$config_id.json"
cat >"$image/manifest.json" <<MANIFEST
[{"Config": "$config_id.json", "RepoTags": ["medsearch-base:$suite-jre17"], "Layers": ["$diff_id/layer.tar.gz"]}]
MANIFEST
tar --numeric-owner -C "$image" -cf "$work/base.tar" manifest.json "$config_id.json" "$diff_id"
mv "$work/base.tar" "$out"
echo "base-image.sh: $out ($(du -h "$out" | cut -f1)) in $((SECONDS - start)) s" >&2
