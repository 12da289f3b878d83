#!/bin/sh
# make install puts the programs and every man page under DESTDIR/PREFIX;
# uninstall takes them away again.
. "$(dirname "$0")/lib.sh"
mk() { make -s -C "$top" O="${PT_O:-build/release}" BINDIR="${PT_BIN:-$top/bin}" "$@"; }
mk install DESTDIR="$T/root" PREFIX=/usr/local > "$T/log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr/local"
for p in policy-prep policy-score policy-split policy-verify; do
	[ -x "$T/root/usr/local/bin/$p" ]
	ok $? "installs $p"
done
n1=$(ls "$top"/man/*.1 | wc -l) n5=$(ls "$top"/man/*.5 | wc -l)
[ "$(ls "$T/root/usr/local/share/man/man1" | wc -l)" -eq "$n1" ] &&
	[ "$(ls "$T/root/usr/local/share/man/man5" | wc -l)" -eq "$n5" ]
ok $? "installs the $n1 program and $n5 file-format man pages"
[ -f "$T/root/usr/local/share/man/man7/policy-tools.7" ]
ok $? "installs policy-tools(7), the conventions the programs share"
"$T/root/usr/local/bin/policy-verify" --version | grep -q '^policy-verify '
ok $? "an installed program runs"
mk uninstall DESTDIR="$T/root" PREFIX=/usr/local > "$T/log" 2>&1 &&
	[ -z "$(find "$T/root" -type f)" ]
ok $? "make uninstall removes them"
done_testing
