"""A single-node SLURM cluster for the tests, started from Debian's packages (slurm-wlm, munge).

:class:`SlurmCluster` writes ``slurm.conf``, ``gres.conf`` and ``cgroup.conf`` into a folder
of its own (the commands find them through ``SLURM_CONF``), generates a munge key and starts
``munged``, ``slurmctld`` and ``slurmd`` in the foreground as child processes (no systemd):

- one node, this machine (its short host name), 2 CPUs and the memory ``slurmd -C`` reports,
  with one GPU declared as a generic resource (``gres.conf``: ``Name=gpu Count=1
  File=/dev/null``), so ``--gpus=1`` jobs are scheduled on a machine without a GPU;
- partitions ``cpu`` (the default) and ``gpu`` on that node, and ``nogpu``, whose only node
  is declared ``State=FUTURE`` without a GPU: it exists (``sinfo`` lists it) so that a GPU
  request on a partition without GPUs can be tested, but never runs a job;
- no accounting database (``AccountingStorageType=accounting_storage/none``): ``sacct``
  cannot answer, so Snakemake's SLURM executor is told to read job states with ``squeue``
  (``slurm-status-command: squeue``), which ``MinJobAge=3600`` keeps reliable for an hour
  after a job ends; ``scontrol show job`` answers as long. Every finished job is also
  written to ``jobcomp.txt`` (``jobcomp/filetxt``);
- a job's GPU request shows in ``scontrol show job`` as ``TresPerJob=gres:gpu:1`` (22.05; the
  allocated ``gres/gpu`` would show in ``TRES`` only with accounting through slurmdbd).

``snakemake-executor-plugin-slurm-jobstep`` removes every ``SLURM_*`` variable except the
job's identity from the environment of the ``srun`` it runs inside each job, ``SLURM_CONF``
included (on a real cluster ``srun`` finds ``/etc/slurm/slurm.conf`` or the configless
server instead). The cluster therefore puts a two-line ``srun`` in ``bin/`` that sets
``SLURM_CONF`` again and runs the real one; :attr:`SlurmCluster.env` puts that folder first
on ``PATH``.

``SlurmUnavailable`` says why a cluster cannot be started here (not root, packages missing);
the tests skip with that reason, or fail where ``CI`` is set.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

#: Debian puts the daemons in /usr/sbin, which is not on every user's PATH.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("munge", "sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel")
INSTALL = "apt-get install -y --no-install-recommends slurm-wlm munge"

#: partitions of the test cluster: name -> has the GPU
PARTITIONS = {"cpu": True, "gpu": True, "nogpu": False}


class SlurmUnavailable(RuntimeError):
    """Why no test cluster can run on this machine."""


def _which(name: str) -> str | None:
    return shutil.which(name, path=SEARCH_PATH)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slurm_version() -> str:
    """``slurm-wlm 22.05.8`` (from ``slurmctld -V``)."""
    return subprocess.run([_which("slurmctld"), "-V"], capture_output=True, text=True).stdout.strip()


def munge_version() -> str:
    out = subprocess.run([_which("munged"), "-V"], capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().split("\n")[0]


def parse_key_values(text: str) -> dict[str, str]:
    """``Key=Value Key2=Value2 …`` (one ``scontrol -o`` or ``jobcomp.txt`` line) as a dict;
    a value runs up to the next `` Key=``."""
    return dict(re.findall(r"(?:^|\s)([A-Za-z][\w/:]*)=(.*?)(?=\s+[A-Za-z][\w/:]*=|\s*$)", text))


class SlurmCluster:
    """A running single-node cluster in ``root`` (see the module docstring)."""

    def __init__(self, root: Path, cpus: int = 2):
        self.root = Path(root)
        self.cpus = cpus
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "etc" / "slurm.conf"
        self.bin = self.root / "bin"
        self.jobcomp = self.root / "log" / "jobcomp.txt"
        self.memory_mb = 0
        self._procs: dict[str, subprocess.Popen] = {}

    # -- environment --------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """``os.environ`` with ``SLURM_CONF`` set and the cluster's ``bin/`` (the ``srun``
        shim) and ``/usr/sbin`` on ``PATH``; for every command that talks to the cluster."""
        return {
            **os.environ,
            "SLURM_CONF": str(self.conf),
            "PATH": os.pathsep.join([str(self.bin), SEARCH_PATH]),
        }

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=60)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
        return result

    # -- start and stop -----------------------------------------------------------------------

    @classmethod
    def check_available(cls) -> None:
        """Raise :class:`SlurmUnavailable` (with the reason) when no cluster can start here."""
        missing = [name for name in DAEMONS + CLIENTS if _which(name) is None]
        if missing:
            raise SlurmUnavailable(f"SLURM/munge not installed ({', '.join(missing)} missing): "
                                   f"{INSTALL}")  # fmt: skip
        if os.geteuid() != 0:
            raise SlurmUnavailable("slurmd must run as root to start jobs (run the tests as root)")

    def start(self, timeout: float = 60) -> SlurmCluster:
        self.check_available()
        atexit.register(self.stop)  # also when the session ends without the fixture's teardown
        for sub in ("etc", "bin", "log", "state", "spool", "munge", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._start_munge()
        self._write_config()
        self._start("slurmctld", [_which("slurmctld"), "-D", "-c", "-f", str(self.conf)])
        self._start("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])
        self._wait_idle(timeout)
        return self

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        self._procs[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             env=self.env, start_new_session=True)  # fmt: skip
        log.close()

    def _start_munge(self) -> None:
        munge = self.root / "munge"
        munge.chmod(0o755)  # the socket's folder: reachable by every user
        key = self.root / "etc" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.munge_socket = munge / "munge.socket"
        self._start("munged", [
            _which("munged"), "--foreground", "--force", f"--key-file={key}",
            f"--socket={self.munge_socket}", f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={self.root / 'log' / 'munged.log'}", f"--seed-file={munge / 'seed'}",
        ])  # fmt: skip
        deadline = time.monotonic() + 20
        while not self.munge_socket.exists():
            if self._procs["munged"].poll() is not None or time.monotonic() > deadline:
                raise SlurmUnavailable(f"munged did not start: {self._tail('munged.log')}")
            time.sleep(0.1)

    def _node_hardware(self) -> tuple[int, int]:
        """(CPUs, RealMemory MB) as ``slurmd -C`` reports them."""
        out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True).stdout
        fields = parse_key_values(out.splitlines()[0] if out else "")
        return int(fields.get("CPUs", self.cpus)), int(fields.get("RealMemory", 2000))

    def _write_config(self) -> None:
        cpus, memory = self._node_hardware()
        self.cpus = min(self.cpus, cpus)
        self.memory_mb = memory
        r = self.root
        partitions = "\n".join(
            f"PartitionName={name} Nodes={self.node if gpu else 'spare'} MaxTime=INFINITE "
            f"State=UP{' Default=YES' if name == 'cpu' else ''}"
            for name, gpu in PARTITIONS.items()
        )
        self.conf.write_text(f"""\
# genorrn test cluster (tests/slurm_cluster.py): one node, this machine
ClusterName=genorrntest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={r / 'state'}
SlurmdSpoolDir={r / 'spool'}
SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}
SlurmdPidFile={r / 'run' / 'slurmd.pid'}
SlurmctldLogFile={r / 'log' / 'slurmctld.log'}
SlurmdLogFile={r / 'log' / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
MinJobAge=3600
ReturnToService=2
MpiDefault=none
KillWait=5
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory} Gres=gpu:1 State=UNKNOWN
NodeName=spare NodeAddr=127.0.0.2 CPUs=1 RealMemory=100 State=FUTURE
{partitions}
""")  # fmt: skip
        (r / "etc" / "gres.conf").write_text(
            f"# one GPU that is not there: --gpus=1 jobs are scheduled, nothing uses it\n"
            f"NodeName={self.node} Name=gpu Count=1 File=/dev/null\n"
        )
        (r / "etc" / "cgroup.conf").write_text(
            "# proctrack/linuxproc and task/none: no cgroup is created or constrained\n"
            "CgroupPlugin=autodetect\nConstrainCores=no\nConstrainRAMSpace=no\n"
            "ConstrainDevices=no\n"
        )
        srun = self.bin / "srun"
        srun.write_text(
            "#!/bin/sh\n"
            "# the jobstep executor drops SLURM_CONF from srun's environment (tests/slurm_cluster.py)\n"
            f"SLURM_CONF={self.conf} exec {_which('srun')} \"$@\"\n"
        )
        srun.chmod(0o755)

    def _wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    self.stop()
                    raise SlurmUnavailable(f"{name} exited ({proc.returncode}): "
                                           f"{self._tail(name + '.log')}{self._tail(name + '.out')}")  # fmt: skip
            result = self.run("sinfo", "-h", "-n", self.node, "-o", "%t", check=False)
            state = result.stdout.strip().split("\n")[0] if result.returncode == 0 else ""
            if state == "idle":
                return
            if state.startswith(("inval", "drain")):
                break
            time.sleep(0.5)
        reason = self.run("scontrol", "show", "node", self.node, check=False).stdout
        self.stop()
        raise SlurmUnavailable(f"node {self.node} not idle after {timeout:.0f} s (state "
                               f"{state!r}): {reason}\n{self._tail('slurmctld.log')}")  # fmt: skip

    def _tail(self, name: str, lines: int = 15) -> str:
        path = self.root / "log" / name
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        """Cancel every job, wait for them to end, stop the daemons (SIGTERM, then SIGKILL)."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self.run("scancel", "--full", "--user", "root", check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                active = self.run("squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S", check=False)
                if active.returncode != 0 or not active.stdout.strip():
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    # -- jobs ---------------------------------------------------------------------------------

    def job(self, job_id: str | int) -> dict[str, str]:
        """``scontrol show job -o ID`` as a dict (answers up to MinJobAge after the end)."""
        return parse_key_values(self.run("scontrol", "show", "job", "-o", str(job_id)).stdout.strip())

    def finished_jobs(self) -> dict[str, dict[str, str]]:
        """Job ID -> its record in ``jobcomp.txt`` (every job that ended)."""
        if not self.jobcomp.exists():
            return {}
        records = (parse_key_values(line) for line in self.jobcomp.read_text().splitlines() if line)
        return {rec["JobId"]: rec for rec in records}

    def active_jobs(self) -> list[str]:
        out = self.run("squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S").stdout
        return out.split()

    def wait_jobs_ended(self, job_ids, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while set(map(str, job_ids)) & set(self.active_jobs()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs {sorted(job_ids)} still active after {timeout} s")
            time.sleep(0.5)
