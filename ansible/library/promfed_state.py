#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only: tells the roles which of their tasks have something to do. Each
# module run costs a Python start on the host, and a template or copy task
# costs two even when the file is right; one run of this module per role
# lets a converge with nothing to change skip them. Anything it cannot tell
# for sure is reported as to do, so that the real task decides.

DOCUMENTATION = r"""
module: promfed_state
short_description: Which files, accounts, packages and units differ from what a role wants
description:
  - Compares the host with the wanted state in one module run and returns,
    per kind, the names that differ. Changes nothing.
options:
  files:
    description:
      - Wanted files. C(path) is a path or a list of paths; C(state) is
        C(file) (default), C(directory), C(link) or C(absent). For C(file),
        C(checksum) (SHA-1 of the content, a list parallel to C(path) when
        C(path) is one) or C(src) (a file on the host whose content must be
        the same), when the content matters; C(owner), C(group) and C(mode)
        (octal string) when given.
        For C(link), C(src) is the target. A C(directory) with C(recurse)
        also checks everything below it: owner and group, directories
        C(mode), files C(mode) without its execute bits unless they have one
        (the file module's C(X)).
    type: list
    elements: dict
    default: []
  users:
    description: Wanted accounts (C(name), C(group), C(home), C(shell), C(comment)).
    type: list
    elements: dict
    default: []
  groups:
    description: Groups that must exist.
    type: list
    elements: str
    default: []
  packages:
    description: Debian packages that must be installed.
    type: list
    elements: str
    default: []
  units:
    description: systemd units that must be enabled and active.
    type: list
    elements: str
    default: []
  statoverrides:
    description: Paths whose dpkg-statoverride entry is returned.
    type: list
    elements: path
    default: []
  dirs:
    description: Directories whose entries are listed (an absent one lists nothing).
    type: list
    elements: path
    default: []
"""

RETURN = r"""
files: {description: Paths whose file differs, type: list}
users: {description: Accounts that differ, type: list}
groups: {description: Groups that are missing, type: list}
packages: {description: Packages not installed, type: list}
units: {description: Units not both enabled and active, type: list}
dirs: {description: Entry names of each directory of I(dirs), type: dict}
owners: {description: The owner of each path of I(files) that exists, type: dict}
statoverrides: {description: "The entry of each path of I(statoverrides) (user group mode path, or empty)", type: dict}
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


def attrs_differ(st, want, mode):
    if want.get("owner") is not None and owner_name(st.st_uid) != want["owner"]:
        return True
    if want.get("group") is not None and group_name(st.st_gid) != want["group"]:
        return True
    return mode is not None and stat.S_IMODE(st.st_mode) != mode


def tree_differs(top, want):
    mode = int(str(want["mode"]), 8) if want.get("mode") is not None else None
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            if stat.S_ISDIR(st.st_mode):
                wanted = mode
            elif stat.S_ISREG(st.st_mode):
                wanted = None if mode is None else mode & ~0o111 | (mode & 0o111 if st.st_mode & 0o111 else 0)
            else:
                return True
            if attrs_differ(st, want, wanted):
                return True
    return False


def file_differs(path, want, checksum):
    state = want.get("state") or "file"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return state != "absent"
    if state == "absent":
        return True
    if state == "link":
        return not stat.S_ISLNK(st.st_mode) or os.readlink(path) != want.get("src")
    kind = stat.S_ISDIR if state == "directory" else stat.S_ISREG
    if not kind(st.st_mode):
        return True
    if attrs_differ(st, want, int(str(want["mode"]), 8) if want.get("mode") is not None else None):
        return True
    if state == "directory" and want.get("recurse"):
        return tree_differs(path, want)
    if state == "file" and want.get("src") is not None:
        if not os.path.isfile(want["src"]):
            return True
        checksum = sha1(want["src"])
    return checksum is not None and sha1(path) != checksum


def files_todo(specs, owners):
    todo = []
    for want in specs:
        paths, sums = want["path"], want.get("checksum")
        if not isinstance(paths, list):
            paths, sums = [paths], [sums]
        elif sums is None:
            sums = [None] * len(paths)
        for path, checksum in zip(paths, sums):
            if file_differs(path, want, checksum):
                todo.append(path)
            try:
                owners[path] = owner_name(os.lstat(path).st_uid)
            except FileNotFoundError:
                pass
    return todo


def users_todo(specs):
    todo = []
    for want in specs:
        try:
            pw = pwd.getpwnam(want["name"])
        except KeyError:
            todo.append(want["name"])
            continue
        have = {"group": group_name(pw.pw_gid), "home": pw.pw_dir, "shell": pw.pw_shell,
                "comment": pw.pw_gecos}
        if any(want.get(k) is not None and have[k] != want[k] for k in have):
            todo.append(want["name"])
    return todo


def groups_todo(names):
    todo = []
    for name in names:
        try:
            grp.getgrnam(name)
        except KeyError:
            todo.append(name)
    return todo


def packages_todo(module, names):
    if not names:
        return []
    # Unknown packages go to stderr and set a non-zero status: they are not installed.
    _rc, out, _err = module.run_command(
        ["dpkg-query", "--show", "--showformat=${Package}\t${db:Status-Status}\n"] + names)
    installed = set()
    for line in out.splitlines():
        name, _, status = line.partition("\t")
        if status == "installed":
            installed.add(name.split(":")[0])
    return [n for n in names if n not in installed]


def units_todo(module, names):
    if not names:
        return []
    rc, out, _err = module.run_command(
        ["systemctl", "show", "--property=UnitFileState,ActiveState"] + names)
    # One block per unit, in the order asked.
    blocks = out.strip().split("\n\n") if rc == 0 else []
    if len(blocks) != len(names):
        return list(names)
    todo = []
    for name, block in zip(names, blocks):
        props = dict(line.partition("=")[::2] for line in block.splitlines())
        if props.get("UnitFileState") != "enabled" or props.get("ActiveState") != "active":
            todo.append(name)
    return todo


def statoverrides(module, paths):
    found = {}
    for path in paths:
        # 1: no entry.
        rc, out, err = module.run_command(["dpkg-statoverride", "--list", path])
        if rc not in (0, 1):
            module.fail_json(msg="dpkg-statoverride --list %s: %s" % (path, err.strip()))
        found[path] = out.strip()
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", default=[]),
            users=dict(type="list", elements="dict", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            units=dict(type="list", elements="str", default=[]),
            statoverrides=dict(type="list", elements="path", default=[]),
            dirs=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    owners = {}
    module.exit_json(
        changed=False,
        files=files_todo(p["files"], owners),
        owners=owners,
        users=users_todo(p["users"]),
        groups=groups_todo(p["groups"]),
        packages=packages_todo(module, p["packages"]),
        units=units_todo(module, p["units"]),
        statoverrides=statoverrides(module, p["statoverrides"]),
        dirs={d: sorted(os.listdir(d)) if os.path.isdir(d) else [] for d in p["dirs"]},
    )


if __name__ == "__main__":
    main()
