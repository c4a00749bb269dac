#!/usr/bin/env bash
# Regenerates the committed seed corpus of the fuzz targets, fuzz/seeds/<target>/, from
# sample-logs/*.log plus a few hand-written edge cases. The seeds are small on purpose (about 60
# files); the corpus that fuzzing grows lives in fuzz/corpus/<target>/ and is not committed.
#
# Usage: fuzz/make-seeds.sh   (deterministic: the same logs give the same seeds)
set -euo pipefail
cd "$(dirname "$0")"
logs=(../sample-logs/beacons-01.log ../sample-logs/beacons-02.log)
seeds=seeds

rm -rf "$seeds"
mkdir -p "$seeds"/{line_format,qson_decode,process_line,checkpoint_loader}

# The first line of a log that matches an extended regex.
first_line() {
    { grep -h -m1 -E -e "$1" "${logs[@]}" || true; } | sed -n 1p
}

# The first-field %q text of a line.
query_of() {
    cut -f1 <<<"$1"
}

# put <target> <name> <printf-format> [args...]: writes one seed without a trailing newline.
put() {
    local target=$1 name=$2
    shift 2
    # shellcheck disable=SC2059
    printf "$@" >"$seeds/$target/$name"
}

# Representative log lines: one per legacy schema, Event Platform events, the generator's
# malformed lines (no `?`, invalid UTF-8, truncated query, bad date, overlong user agent) and an
# app user agent.
declare -A lines
for schema in Echo EditAttemptStep Generic NavigationTiming SearchSatisfaction; do
    lines[$schema]=$(first_line "%22schema%22%3A%22${schema}%22")
done
lines[event_platform]=$(first_line '^\?%7B%22%24schema%22')
lines[event_platform_other]=$({ grep -h -E '^\?%7B%22%24schema%22' "${logs[@]}" || true; } | sed -n 5p)
lines[no_question_mark]=$(first_line '^%7B')
lines[invalid_utf8]=$(first_line '^\?%7B%22a%22%3A%22%C3%28')
lines[not_json]=$(first_line '^\?%7Bnot-json;')
lines[bad_date]=$(first_line $'\t2026-13-45T')
lines[truncated]=$({ grep -h -v -E $'^[^\t]*;\t' "${logs[@]}" || true; } | { grep -E '^\?' || true; } | sed -n 1p)
lines[long_user_agent]=$(first_line '(Mozilla/5\.0 ){20}')
lines[app_user_agent]=$(first_line 'WikipediaApp/')

for name in "${!lines[@]}"; do
    line=${lines[$name]}
    [[ -n $line ]] || continue
    put process_line "$name" '%s' "$line"
    query=$(query_of "$line")
    case $name in
    Echo | NavigationTiming | event_platform | invalid_utf8 | truncated | not_json | no_question_mark)
        put qson_decode "$name" '%s' "$query"
        ;;
    esac
    case $name in
    Echo | SearchSatisfaction | event_platform | no_question_mark | truncated | long_user_agent | app_user_agent)
        put line_format "$name" '%s' "$line"
        ;;
    esac
done

echo_line=${lines[Echo]}
# A batch of lines (the process_line target also processes newline-separated inputs as a batch).
put process_line batch '%s\n%s\n%s' "$echo_line" "${lines[event_platform]}" "${lines[not_json]}"
# Client-sent capsule fields that the casters handle (reference §2.3) and dropped keys.
put process_line client_fields '%s\t%s\t%s\t%s\t%s\t%s' \
    '?%7B%22event%22%3A%7B%7D%2C%22revision%22%3A13%2C%22schema%22%3A%22Generic%22%2C%22seqId%22%3A%2277%22%2C%22dt%22%3A1577836800%2C%22recvFrom%22%3Anull%2C%22userAgent%22%3A%22WikipediaApp%2F5.3.3.1038%20(iOS%2010.2%3B%20Phone)%22%2C%22uuid%22%3A%22x%22%2C%22clientValidated%22%3Atrue%2C%22isTruncated%22%3Afalse%2C%22webHost%22%3A%22en.wikipedia.org%22%2C%22wiki%22%3A%22enwiki%22%7D;' \
    cp3030.esams.wmnet 0012 2019-12-20T10:11:12 - '"-"'
# Spaces instead of TABs: the ip group swallows most of the user agent (reference §1.3).
put line_format space_separated '%s' "$(tr '\t' ' ' <<<"$echo_line")"
# Trailing newline kept by file input.
put line_format trailing_newline '%s\n' "$echo_line"
# "format\nline": the line_format target also compiles the first line as a format.
put line_format format_production '%s\n%s' '%q %{recvFrom}s %{seqId}d %D %{ip}i %u' "$echo_line"
put line_format format_2017 '%s\n%s' '%q %{recvFrom}s %{seqId}d %t %o %{userAgent}i' "$echo_line"
put line_format format_server_side '%s\n%s' '%{seqId}d EventLogging %j' '12 EventLogging {"schema":"Echo","revision":7731316,"event":{}}'
put line_format format_literals '%s\n%s' '%q %%%{x}i é %u' '?a % b é c'
put line_format format_error '%s\n%s' '%q %{}s %{a' "$echo_line"
# Adversarial backtracking: few whitespace characters among many non-TAB characters.
put line_format backtracking '?%s\t%s %s %s' "$(printf '1%.0s' {1..300})" "$(printf '1%.0s' {1..300})" "$(printf '1 %.0s' {1..100})" x

# QSON edge cases (reference §2.2).
put qson_decode plus_and_encoded_plus '%s' '?%7B%22a%22%3A%22b+c%2Bd%22%7D;'
put qson_decode strip_delimiters '%s' '?;{};?'
put qson_decode bad_escapes '%s' '?%7B%22a%22%3A%22%ZZ%zz%4%22%7D;'
put qson_decode encoded_semicolon '%s' '?%7B%7D%3B;'
put qson_decode raw_utf8 '%s' '?{"a":"☆"};'
put qson_decode surrogate_escape '%s' '?%7B%22a%22%3A%22%5Cud83d%22%7D;'
put qson_decode non_finite '%s' '?%7B%22a%22%3ANaN%2C%22b%22%3A-Infinity%7D;'
put qson_decode big_numbers '%s' '?%7B%22a%22%3A123456789012345678901234567890%2C%22b%22%3A1e400%2C%22c%22%3A-0.0%7D;'
put qson_decode not_object '%s' '?%5B1%2C2%5D;'
put qson_decode duplicate_keys '%s' '?%7B%22a%22%3A1%2C%22a%22%3A2%7D;'
put qson_decode form_pairs '%s' '?a=b&c=%41+d;'

# Checkpoint files: valid (the writer's layout), torn, newer version, unknown field, and a main
# file followed by NUL and a newer temporary file (recovery of an interrupted write).
entry='{"path":"/logs/a.log","dev":2049,"ino":131,"head":{"len":1024,"hash":3735928559},"offset":2048,"window":{"len":1024,"hash":12345},"last_seen":1700000000}'
valid=$(printf '{"version":1,"sequence":7,"written_at":1700000000,"files":[\n%s,\n%s\n]}\n' "$entry" "${entry/a.log/b.log}")
put checkpoint_loader valid '%s' "$valid"
put checkpoint_loader empty_files '%s' '{"version":1,"sequence":1,"written_at":0,"files":[]}'
put checkpoint_loader torn '%s' "${valid:0:150}"
put checkpoint_loader newer_version '%s' '{"version": 99, "sequence": 1, "files": [], "new_field": true}'
put checkpoint_loader unknown_field '%s' '{"version":1,"sequence":1,"written_at":0,"files":[],"x":1}'
put checkpoint_loader recovered_temp '%s\0%s' '{"version":1,"sequence":3,"written_at":0,"files":[]}' "$valid"
put checkpoint_loader older_temp '%s\0%s' "$valid" '{"version":1,"sequence":2,"written_at":0,"files":[]}'

find "$seeds" -type f | wc -l | xargs printf '%s seed files, '
du -sb "$seeds" | cut -f1 | xargs printf '%s bytes\n'
