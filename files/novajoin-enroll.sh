#!/bin/sh
# novajoin-enroll.sh - enroll this instance in FreeIPA with the one-time
# password that novajoin put into nova's vendor data.
#
# Delivered by nova's StaticJSON vendordata as {"cloud-init": "<this
# script>"} (files/cloud-config-novajoin.json): cloud-init runs a vendor-data
# script once per instance (scripts-vendor), and user-data's runcmd or
# write_files cannot replace it. files/cloud-config-novajoin.yaml carries it
# as #cloud-config user-data instead.
#
# It reads openstack/latest/vendor_data2.json from the config drive if there
# is one, else from the metadata service, takes the "join" object that nova
# got from the novajoin-server DynamicJSON target:
#   {"join": {"hostname": "vm1.example.test", "krb_realm": "EXAMPLE.TEST",
#             "ipaotp": "...", "ipa_domain": "example.test",
#             "ipa_server": ["ipa.example.test"], "ipa_ca_cert": "<PEM>"}}
# installs the IPA client if needed, sets the hostname, makes the FQDN
# resolvable when it is not (Debian and Ubuntu have no nss-myhostname, and
# ipa-client-install resolves its own name when it starts) and runs
#   ipa-client-install -U --hostname FQDN [--realm R] [--domain D]
#                      [--server S ...] [--ca-cert-file F] -w OTP
# The IPA CA comes with the OTP (ipa_ca_cert), so ipa-client-install never
# downloads it over plain HTTP.
# then writes preserve_hostname: true to cloud-init's 99-novajoin.cfg so that
# cloud-init keeps the FQDN on later boots.
#
# Who enrolls. This script reaches every instance, and novajoin answers
# {"join": {}} for an instance that does not enroll (so does nova when
# novajoin fails). First the instance's own server metadata ("meta" in
# openstack/latest/meta_data.json, config drive first, else the metadata
# service) decides:
#   ipa_enroll = true (any case)   enroll: wait up to NOVAJOIN_FETCH_TIMEOUT
#                                  for join data and fail loudly without it
#   ipa_enroll = anything else     "not enrolling (ipa_enroll=...)", exit 0 at
#                                  once; vendor_data2.json is not even read
#   no ipa_enroll                  the Glance image property ipa_enroll may
#                                  still ask for enrollment, and the guest
#                                  cannot see it: wait only
#                                  NOVAJOIN_UNREQUESTED_TIMEOUT for a
#                                  non-empty join, enroll if it comes, else
#                                  say nothing was requested and exit 0
#   meta_data.json unreadable      as for ipa_enroll = true
# So set ipa_enroll=true in the server metadata to get a loud failure when
# enrollment does not happen; an image-only request fails quietly (exit 0).
#
# POSIX sh only (dash, busybox ash); no python. Needs awk, curl or wget,
# mktemp, cp, mv, rm, mkdir, od, tr, tail, sleep (coreutils or busybox);
# mount and blkid for a config drive.
#
# Environment (all optional):
#   NOVAJOIN_METADATA_URL      vendor_data2.json URL; empty disables the
#                              metadata service (default
#                              http://169.254.169.254/openstack/latest/vendor_data2.json)
#   NOVAJOIN_META_DATA_URL     meta_data.json URL (default: the one beside
#                              NOVAJOIN_METADATA_URL)
#   NOVAJOIN_CONFIG_DRIVE_DIR  an already-mounted config drive root; no block
#                              device is probed or mounted when it is set
#   NOVAJOIN_FETCH_TIMEOUT     total seconds to keep trying the metadata
#                              service (default 300)
#   NOVAJOIN_UNREQUESTED_TIMEOUT  the same when the server metadata has no
#                              ipa_enroll (default 60)
#   NOVAJOIN_REARM_TIMEOUT     the same while the join data has no OTP: the
#                              host is enrolled, or is being re-armed for
#                              this rebuilt instance (default 120)
#   NOVAJOIN_RETRY_INTERVAL    mean seconds between attempts, +/-50% jitter
#                              (default 5)
#   NOVAJOIN_HTTP_TIMEOUT      seconds per HTTP request (default 30)
#   NOVAJOIN_HOSTS_FILE        where to add "127.0.1.1 FQDN short" when the
#                              FQDN does not resolve (default /etc/hosts)
#   NOVAJOIN_CLOUD_CFG_DIR     cloud-init's configuration directory (default
#                              /etc/cloud/cloud.cfg.d); nothing is written
#                              when it does not exist
#
# Exit status: 0 enrolled, or not enrolling as the metadata says above;
# 1 no usable vendor data or another error here; otherwise the exit status
# of ipa-client-install.

# xtrace would print the OTP: never trace this script.
set +x
set -u
# The vendor data file holds the OTP: keep every file we create private.
umask 077

PROG=novajoin-enroll
VD_REL=openstack/latest/vendor_data2.json
MD_REL=openstack/latest/meta_data.json
METADATA_URL=${NOVAJOIN_METADATA_URL-http://169.254.169.254/$VD_REL}
if [ -n "$METADATA_URL" ]; then
    META_URL=${NOVAJOIN_META_DATA_URL:-${METADATA_URL%/*}/meta_data.json}
else
    META_URL=${NOVAJOIN_META_DATA_URL:-}
fi
FETCH_TIMEOUT=${NOVAJOIN_FETCH_TIMEOUT:-300}
UNREQUESTED_TIMEOUT=${NOVAJOIN_UNREQUESTED_TIMEOUT:-60}
REARM_TIMEOUT=${NOVAJOIN_REARM_TIMEOUT:-120}
CLOUD_CFG_DIR=${NOVAJOIN_CLOUD_CFG_DIR:-/etc/cloud/cloud.cfg.d}
HOSTS_FILE=${NOVAJOIN_HOSTS_FILE:-/etc/hosts}
RETRY_INTERVAL=${NOVAJOIN_RETRY_INTERVAL:-5}
HTTP_TIMEOUT=${NOVAJOIN_HTTP_TIMEOUT:-30}

# A variable inherited from the environment stays exported when assigned:
# make sure the one that will hold the OTP starts as a plain shell variable.
unset NJ_OTP

WORKDIR=
CD_MOUNT=

log() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    if command -v logger >/dev/null 2>&1; then
        logger -t "$PROG" -- "$*" 2>/dev/null || :
    fi
}

fail() {
    log "ERROR: $*"
    exit 1
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    if [ -n "$CD_MOUNT" ]; then
        if ! umount "$CD_MOUNT" 2>/dev/null; then
            # Never rm -rf through a mount point we could not unmount.
            log "warning: could not unmount $CD_MOUNT; leaving $WORKDIR"
            return
        fi
    fi
    if [ -n "$WORKDIR" ]; then
        rm -rf "$WORKDIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

is_uint() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
    esac
    return 0
}

is_positive() {
    is_uint "$1" && [ "$1" -gt 0 ]
}

is_uint "$FETCH_TIMEOUT" || fail "NOVAJOIN_FETCH_TIMEOUT must be a number of seconds"
is_uint "$UNREQUESTED_TIMEOUT" ||
    fail "NOVAJOIN_UNREQUESTED_TIMEOUT must be a number of seconds"
is_positive "$HTTP_TIMEOUT" ||
    fail "NOVAJOIN_HTTP_TIMEOUT must be a positive number of seconds"
is_positive "$RETRY_INTERVAL" ||
    fail "NOVAJOIN_RETRY_INTERVAL must be a positive number of seconds"

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/novajoin-enroll.XXXXXX") ||
    fail "cannot create a temporary directory"
VD_FILE=$WORKDIR/vendor_data2.json
MD_FILE=$WORKDIR/meta_data.json

# --------------------------------------------------------------- JSON
# A small but complete JSON parser in POSIX awk (mawk, gawk, busybox awk).
# A real parser rather than sed/grep: vendor_data2.json may also carry
# StaticJSON data (e.g. this very script as a string) that contains text
# like "join" or "ipaotp"; keys come in any order, with or without spaces.
# Usage: awk -v mode=MODE -v want="key1 key2" "$JSON_AWK" FILE
#   mode=type  print the JSON type at the path (object, array, string,
#              number, true, false, null) or nothing when it is absent
#   mode=len   print the number of members of an object or array
#   mode=str   print the value when it is a string
#   mode=list  print the strings of an array (or a lone string), one a line
# Exit status 2: not valid JSON.
# shellcheck disable=SC2016  # $0 in here is awk's, not the shell's
JSON_AWK='
function skipws() {
    while (pos <= n && index(" \t\r\n", substr(doc, pos, 1)))
        pos++
}
function hex4(s,    i, d, v) {
    if (length(s) != 4)
        exit 2
    s = tolower(s)
    v = 0
    for (i = 1; i <= 4; i++) {
        d = index("0123456789abcdef", substr(s, i, 1))
        if (!d)
            exit 2
        v = v * 16 + d - 1
    }
    return v
}
function utf8(cp) {
    if (cp < 128)
        return sprintf("%c", cp)
    if (cp < 2048)
        return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
    if (cp < 65536)
        return sprintf("%c%c%c", 224 + int(cp / 4096),
                       128 + int(cp / 64) % 64, 128 + cp % 64)
    return sprintf("%c%c%c%c", 240 + int(cp / 262144),
                   128 + int(cp / 4096) % 64, 128 + int(cp / 64) % 64,
                   128 + cp % 64)
}
function parse_string(    out, start, c, cp, lo) {
    pos++
    out = ""
    start = pos
    for (;;) {
        if (pos > n)
            exit 2
        c = substr(doc, pos, 1)
        if (c == "\"") {
            out = out substr(doc, start, pos - start)
            pos++
            return out
        }
        if (c != "\\") {
            pos++
            continue
        }
        out = out substr(doc, start, pos - start)
        c = substr(doc, pos + 1, 1)
        pos += 2
        if (c == "\"" || c == "\\" || c == "/")
            out = out c
        else if (c == "n")
            out = out "\n"
        else if (c == "t")
            out = out "\t"
        else if (c == "r")
            out = out "\r"
        else if (c == "b")
            out = out "\b"
        else if (c == "f")
            out = out "\f"
        else if (c == "u") {
            cp = hex4(substr(doc, pos, 4))
            pos += 4
            # a UTF-16 surrogate pair encodes one code point above U+FFFF
            if (cp >= 55296 && cp < 56320 && substr(doc, pos, 2) == "\\u") {
                lo = hex4(substr(doc, pos + 2, 4))
                if (lo >= 56320 && lo < 57344) {
                    cp = 65536 + (cp - 55296) * 1024 + (lo - 56320)
                    pos += 6
                }
            }
            out = out utf8(cp)
        } else
            exit 2
        start = pos
    }
}
function forget(p,    k, gone, i, m) {
    # a repeated key: the last one wins, as in Python json (nova)
    m = 0
    for (k in typ)
        if (k == p || index(k, p SUBSEP) == 1)
            gone[++m] = k
    for (i = 1; i <= m; i++) {
        delete typ[gone[i]]
        delete val[gone[i]]
        delete len[gone[i]]
    }
}
function parse_literal(p,    start, tok) {
    start = pos
    while (pos <= n && index("+-.0123456789Eaeflnrstu", substr(doc, pos, 1)))
        pos++
    tok = substr(doc, start, pos - start)
    if (tok == "true" || tok == "false" || tok == "null")
        typ[p] = tok
    else if (tok ~ /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) {
        typ[p] = "number"
        val[p] = tok
    } else
        exit 2
}
function parse_object(p,    k, c, cnt) {
    pos++
    typ[p] = "object"
    cnt = 0
    skipws()
    if (substr(doc, pos, 1) == "}") {
        pos++
        len[p] = 0
        return
    }
    for (;;) {
        skipws()
        if (substr(doc, pos, 1) != "\"")
            exit 2
        k = parse_string()
        skipws()
        if (substr(doc, pos, 1) != ":")
            exit 2
        pos++
        if ((p SUBSEP k) in typ)
            forget(p SUBSEP k)
        else
            cnt++
        parse_value(p SUBSEP k)
        skipws()
        c = substr(doc, pos, 1)
        pos++
        if (c == "}")
            break
        if (c != ",")
            exit 2
    }
    len[p] = cnt
}
function parse_array(p,    i, c) {
    pos++
    typ[p] = "array"
    i = 0
    skipws()
    if (substr(doc, pos, 1) == "]") {
        pos++
        len[p] = 0
        return
    }
    for (;;) {
        parse_value(p SUBSEP i)
        i++
        skipws()
        c = substr(doc, pos, 1)
        pos++
        if (c == "]")
            break
        if (c != ",")
            exit 2
    }
    len[p] = i
}
function parse_value(p,    c) {
    skipws()
    if (pos > n)
        exit 2
    c = substr(doc, pos, 1)
    if (c == "{")
        parse_object(p)
    else if (c == "[")
        parse_array(p)
    else if (c == "\"") {
        typ[p] = "string"
        val[p] = parse_string()
    } else
        parse_literal(p)
}
{ doc = doc $0 "\n" }
END {
    n = length(doc)
    pos = 1
    parse_value("")
    skipws()
    if (pos <= n)
        exit 2
    nk = split(want, keys, " ")
    p = ""
    for (i = 1; i <= nk; i++)
        p = p SUBSEP keys[i]
    if (!(p in typ))
        exit 0
    if (mode == "type")
        print typ[p]
    else if (mode == "len")
        print len[p] + 0
    else if (mode == "str") {
        if (typ[p] == "string")
            print val[p]
    } else if (mode == "list") {
        if (typ[p] == "string")
            print val[p]
        else if (typ[p] == "array")
            for (i = 0; i < len[p]; i++)
                if (typ[p SUBSEP i] == "string")
                    print val[p SUBSEP i]
    }
}
'

# json MODE "KEY KEY..." FILE
json() {
    # C locale: strings are bytes, and sprintf("%c") makes one byte (UTF-8).
    LC_ALL=C awk -v mode="$1" -v want="$2" "$JSON_AWK" "$3"
}

# --------------------------------------------------------------- checks
# Sets VD_STATE for the failure message and returns 0 when FILE has a
# non-empty "join" object.
VD_STATE=none
check_vendor_data() {
    cvd_type=$(json type join "$1")
    case $? in
        0) ;;
        *)
            VD_STATE=badjson
            log "$2: vendor_data2.json is not valid JSON"
            return 1
            ;;
    esac
    case $cvd_type in
        '')
            VD_STATE=nojoin
            log "$2: vendor_data2.json has no \"join\" key"
            return 1
            ;;
        object) ;;
        *)
            VD_STATE=badjoin
            log "$2: \"join\" in vendor_data2.json is a $cvd_type, not an object"
            return 1
            ;;
    esac
    if [ "$(json len join "$1")" = 0 ]; then
        VD_STATE=emptyjoin
        log "$2: \"join\" in vendor_data2.json is empty"
        return 1
    fi
    if [ -n "$(json str "join hostname" "$1")" ] &&
        [ -z "$(json str "join ipaotp" "$1")" ]; then
        # Enrolled already; or a rebuilt instance whose host novajoin-notify
        # re-arms in a moment (a config drive is written before that).
        VD_STATE=nootp
        log "$2: the join data has no OTP (the host is enrolled in IPA, or is being re-armed after a rebuild)"
        return 1
    fi
    VD_STATE=ok
    return 0
}

# What the vendor data looked like, for the final message.
vd_state_text() {
    case $VD_STATE in
        nojoin) echo 'the vendor data has no "join" key' ;;
        emptyjoin) echo '"join" in the vendor data is empty' ;;
        nootp) echo 'the join data has no OTP (ipaotp): the host is already enrolled in IPA (novajoin hands out an OTP only before enrollment, and again after a rebuild)' ;;
        badjoin) echo '"join" in the vendor data is not an object' ;;
        badjson) echo 'the vendor data is not valid JSON' ;;
        *) echo "no vendor data${LAST_FETCH_ERROR:+ (last error: $LAST_FETCH_ERROR)}" ;;
    esac
}

# Whether the server metadata asks for enrollment: META_STATE is unknown
# (not read yet), yes, no or absent (no ipa_enroll); ENROLL_VALUE the value.
# Same rule as novajoin-server: a case-insensitive "true", blanks stripped.
META_STATE=unknown
ENROLL_VALUE=
check_meta_data() {
    if ! cmd_type=$(json type "meta ipa_enroll" "$1"); then
        log "$2: meta_data.json is not valid JSON"
        return 1
    fi
    case $cmd_type in
        '')
            META_STATE=absent
            return 0
            ;;
        string) ENROLL_VALUE=$(json str "meta ipa_enroll" "$1") ;;
        # nova writes strings only; this is a JSON true, false, number...
        *) ENROLL_VALUE=$cmd_type ;;
    esac
    cmd_value=${ENROLL_VALUE#"${ENROLL_VALUE%%[![:space:]]*}"}
    cmd_value=${cmd_value%"${cmd_value##*[![:space:]]}"}
    case $cmd_value in
        [Tt][Rr][Uu][Ee]) META_STATE=yes ;;
        *) META_STATE=no ;;
    esac
    return 0
}

# Acts on META_STATE once it is known; exits 0 when it says no.
request_decided() {
    case $META_STATE in
        no)
            rd_value=$(printf '%s' "$ENROLL_VALUE" | tr -d '[:cntrl:]')
            log "not enrolling (ipa_enroll=$rd_value): the server metadata from the $1 does not ask for IPA enrollment"
            exit 0
            ;;
        yes)
            log "the server metadata from the $1 asks for IPA enrollment (ipa_enroll)"
            ;;
        absent)
            log "no ipa_enroll in the server metadata from the $1: enrolling only if novajoin sends join data (the image may ask for it)"
            ;;
    esac
}

# --------------------------------------------------------------- config drive
find_config_drive() {
    if command -v blkid >/dev/null 2>&1; then
        for fcd_label in config-2 CONFIG-2; do
            fcd_dev=$(blkid -t "LABEL=$fcd_label" -o device 2>/dev/null)
            fcd_dev=${fcd_dev%%
*}
            if [ -n "$fcd_dev" ]; then
                printf '%s\n' "$fcd_dev"
                return 0
            fi
        done
    fi
    # vfat config drives carry the label in upper case
    for fcd_label in config-2 CONFIG-2; do
        if [ -e "/dev/disk/by-label/$fcd_label" ]; then
            printf '%s\n' "/dev/disk/by-label/$fcd_label"
            return 0
        fi
    done
    return 1
}

# Prints the config drive root, mounting the drive read-only if needed.
config_drive_root() {
    if [ -n "${NOVAJOIN_CONFIG_DRIVE_DIR:-}" ]; then
        printf '%s\n' "$NOVAJOIN_CONFIG_DRIVE_DIR"
        return 0
    fi
    cdr_dev=$(find_config_drive) || return 1
    mkdir "$WORKDIR/config-drive" || return 1
    if ! mount -o ro "$cdr_dev" "$WORKDIR/config-drive" >&2; then
        log "warning: cannot mount config drive $cdr_dev"
        return 1
    fi
    CD_MOUNT=$WORKDIR/config-drive
    printf '%s\n' "$CD_MOUNT"
}

# Sets CD_ROOT when there is a config drive.
CD_ROOT=
open_config_drive() {
    # not in a $(...) subshell: CD_MOUNT must reach cleanup()
    config_drive_root >"$WORKDIR/cd-root" || return 1
    read -r CD_ROOT <"$WORKDIR/cd-root"
}

# read_config_drive_file REL FILE: copies REL from the config drive to FILE
read_config_drive_file() {
    [ -n "$CD_ROOT" ] || return 1
    if [ ! -f "$CD_ROOT/$1" ]; then
        log "config drive $CD_ROOT has no $1"
        return 1
    fi
    cp "$CD_ROOT/$1" "$2"
}

read_config_drive() {
    read_config_drive_file "$VD_REL" "$VD_FILE" || return 1
    check_vendor_data "$VD_FILE" "config drive"
}

read_config_drive_meta() {
    read_config_drive_file "$MD_REL" "$MD_FILE" || return 1
    check_meta_data "$MD_FILE" "config drive"
}

# --------------------------------------------------------------- metadata
now() {
    # uptime does not jump when NTP steps the clock early in boot
    if [ -r /proc/uptime ] && read -r now_s _ </proc/uptime; then
        now_s=${now_s%%.*}
        if is_uint "$now_s"; then
            printf '%s\n' "$now_s"
            return
        fi
    fi
    now_s=$(date +%s 2>/dev/null)
    if is_uint "$now_s"; then
        printf '%s\n' "$now_s"
    else
        # srand() returns the previous seed: the time of day in seconds
        awk 'BEGIN { srand(); print srand() }'
    fi
}

random16() {
    r16=$(od -An -N2 -tu2 /dev/urandom 2>/dev/null | tr -d ' \n')
    is_uint "$r16" || r16=$(( ($$ * 31 + ATTEMPT * 7919) % 65536 ))
    printf '%s\n' "$r16"
}

# fetch URL FILE SECONDS; the error text of the client goes to $WORKDIR/err
fetch() {
    rm -f "$2"
    (
        # The metadata service is link-local and the answer holds the OTP:
        # never send it through a proxy.
        unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
        if command -v curl >/dev/null 2>&1; then
            exec curl -fsS --connect-timeout "$3" --max-time "$3" \
                -o "$2" "$1"
        elif command -v wget >/dev/null 2>&1; then
            # GNU wget retries 20 times by default; busybox wget has no -t
            if wget --version >/dev/null 2>&1; then
                exec wget -q -t 1 -T "$3" -O "$2" "$1"
            fi
            exec wget -q -T "$3" -O "$2" "$1"
        fi
        echo "neither curl nor wget is installed" >&2
        exit 127
    ) 2>"$WORKDIR/err" </dev/null && [ -s "$2" ]
}

# request_timeout DEADLINE: seconds for the next request, at most
# HTTP_TIMEOUT and not past DEADLINE (but at least 1)
request_timeout() {
    rt_left=$(( $1 - $(now) ))
    if [ "$rt_left" -gt "$HTTP_TIMEOUT" ]; then
        rt_left=$HTTP_TIMEOUT
    fi
    if [ "$rt_left" -lt 1 ]; then
        rt_left=1
    fi
    printf '%s\n' "$rt_left"
}

# How long to wait for join data when the metadata has no ipa_enroll.
WAIT_UNREQUESTED=$UNREQUESTED_TIMEOUT
if [ "$FETCH_TIMEOUT" -lt "$WAIT_UNREQUESTED" ]; then
    WAIT_UNREQUESTED=$FETCH_TIMEOUT
fi

read_metadata_service() {
    ATTEMPT=0
    rms_nootp=
    rms_start=$(now)
    rms_deadline=$(( rms_start + FETCH_TIMEOUT ))
    if [ "$META_STATE" = absent ]; then
        rms_deadline=$(( rms_start + WAIT_UNREQUESTED ))
        log "waiting up to $WAIT_UNREQUESTED s for join data"
    fi
    while :; do
        ATTEMPT=$((ATTEMPT + 1))
        # Until the server metadata is known, ask for it first: it may say
        # that there is nothing to wait for.
        if [ "$META_STATE" = unknown ] && [ -n "$META_URL" ]; then
            if fetch "$META_URL" "$MD_FILE" "$(request_timeout "$rms_deadline")"; then
                if check_meta_data "$MD_FILE" "metadata service"; then
                    request_decided "metadata service"
                    if [ "$META_STATE" = absent ]; then
                        rms_short=$(( rms_start + WAIT_UNREQUESTED ))
                        if [ "$rms_short" -lt "$rms_deadline" ]; then
                            rms_deadline=$rms_short
                        fi
                        log "waiting up to $WAIT_UNREQUESTED s for join data"
                    fi
                fi
            else
                rms_err=$(tail -n 1 "$WORKDIR/err" 2>/dev/null)
                log "attempt $ATTEMPT: cannot fetch $META_URL: ${rms_err:-empty answer}"
            fi
        fi
        if fetch "$METADATA_URL" "$VD_FILE" "$(request_timeout "$rms_deadline")"; then
            MS_ANSWERED=1
            check_vendor_data "$VD_FILE" "metadata service" && return 0
            case $VD_STATE in
                # nova's configuration will not change while we wait
                nojoin | badjoin) return 1 ;;
                nootp)
                    # a re-arm takes moments; an enrolled host waits no more
                    if [ -z "$rms_nootp" ]; then
                        rms_nootp=$(( $(now) + REARM_TIMEOUT ))
                        if [ "$rms_nootp" -lt "$rms_deadline" ]; then
                            rms_deadline=$rms_nootp
                        fi
                    fi
                    ;;
            esac
        else
            rms_err=$(tail -n 1 "$WORKDIR/err" 2>/dev/null)
            LAST_FETCH_ERROR=${rms_err:-empty answer}
            log "attempt $ATTEMPT: cannot fetch $METADATA_URL: $LAST_FETCH_ERROR"
        fi
        # Jitter: [0.5, 1.5] x interval, in tenths of a second, so guests
        # booted together do not keep hitting nova in step.
        rms_sleep=$(( RETRY_INTERVAL * 5 + $(random16) % (RETRY_INTERVAL * 10 + 1) ))
        rms_left=$(( (rms_deadline - $(now)) * 10 ))
        if [ "$rms_left" -le 0 ]; then
            return 1
        fi
        if [ "$rms_sleep" -gt "$rms_left" ]; then
            rms_sleep=$rms_left
        fi
        log "retrying in $((rms_sleep / 10)).$((rms_sleep % 10)) s"
        # fractional sleep is not POSIX; round up where it is missing
        sleep "$((rms_sleep / 10)).$((rms_sleep % 10))" 2>/dev/null ||
            sleep "$(( (rms_sleep + 9) / 10 ))"
    done
}

# --------------------------------------------------------------- values
# valid_pem_certs TEXT: only CERTIFICATE blocks of base64 lines, at least one
valid_pem_certs() {
    printf '%s\n' "$1" | LC_ALL=C awk '
        /^-----BEGIN CERTIFICATE-----$/ { if (inside) bad = 1; inside = 1; next }
        /^-----END CERTIFICATE-----$/ { if (!inside) bad = 1; inside = 0; n++; next }
        inside && /^[A-Za-z0-9+\/=]+$/ { next }
        { bad = 1 }
        END { exit (bad || inside || n == 0) }'
}

valid_dns_name() {
    case $1 in
        '' | [.-]* | *[.-] | *[!A-Za-z0-9.-]* | *..* | *.-* | *-.*) return 1 ;;
    esac
    return 0
}

valid_realm() {
    case $1 in
        '' | [.-]* | *[!A-Za-z0-9._-]*) return 1 ;;
    esac
    return 0
}

ensure_ipa_client() {
    command -v ipa-client-install >/dev/null 2>&1 && return 0
    log "ipa-client-install not found: installing the IPA client package"
    if command -v dnf >/dev/null 2>&1; then
        dnf install -y ipa-client >&2 || dnf install -y freeipa-client >&2
    elif command -v yum >/dev/null 2>&1; then
        yum install -y ipa-client >&2 || yum install -y freeipa-client >&2
    elif command -v apt-get >/dev/null 2>&1; then
        # A fresh image has no package lists yet.
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
            log "warning: apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            freeipa-client >&2
    else
        fail "ipa-client-install is missing and there is no dnf, yum or apt-get to install it"
    fi || fail "installing the IPA client package failed"
    command -v ipa-client-install >/dev/null 2>&1 ||
        fail "the IPA client package did not provide ipa-client-install"
}

# cloud-init sets the hostname from the metadata on every boot: make it
# keep the FQDN the host is enrolled under. A failure here is a warning:
# the enrollment itself has succeeded.
# ipa-client-install resolves the host's own name as it starts (4.9 on
# Debian: FQDN = gethostfqdn() at import) and dies when it cannot. Fedora and
# RHEL resolve it through nss-myhostname; Debian and Ubuntu do not, so unless
# DNS already has the name, add the line Debian's installer writes.
ensure_fqdn_resolves() {
    if ! command -v getent >/dev/null 2>&1; then
        log "warning: no getent: cannot check that $FQDN resolves"
        return 0
    fi
    if getent hosts "$FQDN" >/dev/null 2>&1; then
        return 0
    fi
    efr_line=$(printf '127.0.1.1\t%s %s' "$FQDN" "${FQDN%%.*}")
    if (umask 022 && printf '%s\n' "$efr_line" >>"$HOSTS_FILE"); then
        log "$FQDN does not resolve: added \"$efr_line\" to $HOSTS_FILE"
    else
        log "warning: $FQDN does not resolve and $HOSTS_FILE cannot be changed: ipa-client-install may fail to start"
    fi
}

keep_hostname() {
    kh_file=$CLOUD_CFG_DIR/99-novajoin.cfg
    if [ ! -d "$CLOUD_CFG_DIR" ]; then
        log "warning: no $CLOUD_CFG_DIR (is cloud-init installed?): not writing $kh_file"
        return 0
    fi
    if (
        umask 022
        printf '%s\n' \
            "# Written by $PROG: this host is enrolled in IPA as $FQDN." \
            '# cloud-init must not change its hostname on later boots.' \
            'preserve_hostname: true' >"$kh_file.tmp" &&
            mv -f "$kh_file.tmp" "$kh_file"
    ); then
        log "wrote $kh_file (preserve_hostname: true)"
    else
        rm -f "$kh_file.tmp"
        log "warning: could not write $kh_file: cloud-init may reset the hostname on the next boot"
    fi
}

# --------------------------------------------------------------- main
LAST_FETCH_ERROR=
VD_SOURCE=
MS_TRIED=
MS_ANSWERED=
if open_config_drive; then
    # The server metadata first: ipa_enroll=false means nothing to do.
    if read_config_drive_meta; then
        request_decided "config drive"
    fi
    if read_config_drive; then
        VD_SOURCE="config drive"
    elif [ "$VD_STATE" != none ]; then
        # A config drive is written once, at boot: if novajoin was down
        # then, the metadata service may know better now.
        if [ -n "$METADATA_URL" ]; then
            log "no usable join data on the config drive: trying the metadata service"
        fi
    fi
fi

if [ -z "$VD_SOURCE" ] && [ -n "$METADATA_URL" ]; then
    MS_TRIED=1
    if read_metadata_service; then
        VD_SOURCE="metadata service"
    fi
fi

if [ -z "$VD_SOURCE" ] && [ "$META_STATE" = absent ]; then
    # Not asked for in the metadata, and the image (if it asked) got no
    # answer from novajoin: most likely an instance that does not enroll.
    log "not enrolling: nothing was requested in the server metadata (no ipa_enroll) and novajoin gave no enrollment: $(vd_state_text)"
    exit 0
fi

if [ -z "$VD_SOURCE" ] && [ -n "$MS_TRIED" ] && [ -z "$MS_ANSWERED" ] &&
    [ "$VD_STATE" != none ]; then
    # What the config drive held is stale (written at boot); the metadata
    # service, which would know better now, never answered: say so rather
    # than blame novajoin for what the drive says.
    fail "no usable join data: the config drive has $(vd_state_text), and the metadata service $METADATA_URL could not be reached within $FETCH_TIMEOUT s (last error: ${LAST_FETCH_ERROR:-none}): check the instance's network path to the metadata service"
fi

if [ -z "$VD_SOURCE" ]; then
    case $VD_STATE in
        nojoin)
            fail "vendor data has no \"join\" key: nova is not configured with the novajoin dynamic vendordata target (vendordata_dynamic_targets = join@http://...)"
            ;;
        emptyjoin)
            if [ "$META_STATE" = yes ]; then
                fail "\"join\" in the vendor data is empty although the server metadata sets ipa_enroll: novajoin refused or did not answer nova (see the nova-api-metadata and novajoin-server logs)"
            fi
            fail "\"join\" in the vendor data is empty: this instance is not set to enroll (ipa_enroll) or novajoin did not answer nova (see the nova-api-metadata and novajoin-server logs)"
            ;;
        badjoin)
            fail "\"join\" in the vendor data is not an object"
            ;;
        badjson)
            fail "the vendor data is not valid JSON"
            ;;
        nootp)
            nootp_from="config drive"
            if [ -n "$MS_ANSWERED" ]; then
                nootp_from="metadata service, within $REARM_TIMEOUT s"
            fi
            fail "no OTP (ipaotp) in the join data for $(json str "join hostname" "$VD_FILE") from the $nootp_from: the host is already enrolled in IPA (novajoin hands out an OTP only before enrollment, and again after a rebuild of the instance)"
            ;;
    esac
    if [ -z "$METADATA_URL" ]; then
        fail "no vendor data: no config drive and the metadata service is disabled (NOVAJOIN_METADATA_URL is empty)"
    fi
    fail "could not fetch vendor data from $METADATA_URL within $FETCH_TIMEOUT s (last error: ${LAST_FETCH_ERROR:-none})"
fi

FQDN=$(json str "join hostname" "$VD_FILE")
REALM=$(json str "join krb_realm" "$VD_FILE")
DOMAIN=$(json str "join ipa_domain" "$VD_FILE")
SERVERS=$(json list "join ipa_server" "$VD_FILE")
NJ_OTP=$(json str "join ipaotp" "$VD_FILE")
CA_CERT=$(json str "join ipa_ca_cert" "$VD_FILE")

[ -n "$FQDN" ] || fail "no hostname in the join data from the $VD_SOURCE"
if [ -z "$NJ_OTP" ]; then
    fail "no OTP (ipaotp) in the join data for $FQDN from the $VD_SOURCE: the host is already enrolled in IPA (novajoin hands out an OTP only before enrollment) or the OTP is missing"
fi
valid_dns_name "$FQDN" || fail "hostname from the $VD_SOURCE is not a valid DNS name"
case $FQDN in
    *.*) ;;
    *) fail "hostname $FQDN is not fully qualified" ;;
esac
[ -z "$REALM" ] || valid_realm "$REALM" ||
    fail "krb_realm from the $VD_SOURCE is not a valid realm name"
[ -z "$DOMAIN" ] || valid_dns_name "$DOMAIN" ||
    fail "ipa_domain from the $VD_SOURCE is not a valid DNS name"

set -- -U --hostname "$FQDN"
[ -z "$REALM" ] || set -- "$@" --realm "$REALM"
[ -z "$DOMAIN" ] || set -- "$@" --domain "$DOMAIN"
if [ -n "$SERVERS" ] && [ -z "$DOMAIN" ]; then
    # ipa-client-install refuses --server without --domain.
    log "warning: ipa_server given without ipa_domain: letting ipa-client-install discover the servers"
    SERVERS=
fi
# one server per line: split on newlines only, and no globbing
OLD_IFS=$IFS
IFS='
'
set -f
for S in $SERVERS; do
    valid_dns_name "$S" || fail "ipa_server entry from the $VD_SOURCE is not a valid DNS name"
    set -- "$@" --server "$S"
done
set +f
IFS=$OLD_IFS
if [ -n "$CA_CERT" ]; then
    valid_pem_certs "$CA_CERT" ||
        fail "ipa_ca_cert from the $VD_SOURCE is not a PEM certificate bundle"
    CA_FILE=$WORKDIR/ipa-ca.crt
    (umask 022 && printf '%s\n' "$CA_CERT" >"$CA_FILE") ||
        fail "could not write the IPA CA certificate to $CA_FILE"
    set -- "$@" --ca-cert-file "$CA_FILE"
    log "using the IPA CA certificate from the $VD_SOURCE (not downloaded over HTTP)"
else
    log "warning: no IPA CA certificate (ipa_ca_cert) in the join data: ipa-client-install will download it over plain HTTP, trusting whatever answers"
fi

log "enrolling $FQDN${REALM:+ in realm $REALM} (join data from the $VD_SOURCE)"

ensure_ipa_client

if command -v hostnamectl >/dev/null 2>&1; then
    hostnamectl set-hostname "$FQDN"
else
    hostname "$FQDN"
fi || log "warning: could not set the hostname to $FQDN; ipa-client-install --hostname sets it too"
ensure_fqdn_resolves

log "running: ipa-client-install $* -w ********"
# ipa-client-install takes the OTP only as -w/--password, so it is in this
# one command's argv (visible in ps) for the duration of the call; it is
# never exported, logged or put on any other command line.
if ipa-client-install "$@" -w "$NJ_OTP"; then
    RC=0
else
    RC=$?
fi
NJ_OTP=
unset NJ_OTP
if [ "$RC" -ne 0 ]; then
    log "ERROR: ipa-client-install failed with exit status $RC"
    exit "$RC"
fi
log "enrolled $FQDN in IPA"
keep_hostname
exit 0
