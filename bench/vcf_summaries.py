"""How fast `scan_vcf` summarizes a VCF, and in how much memory, with `vcftools --het` on the
same files in the same run as the baseline.

Files: Debian's largest real example (python-pyvcf-examples' 1kg.vcf.gz: 629 samples x 381
sites), and a constructed one (`--samples` x `--sites`, default 2000 x 20000, HWE genotypes,
1% missing, written with bgzip). Each measurement runs in a child process of its own, so its
peak memory is the child's ru_maxrss (os.wait4). Per file it prints: our wall time,
summaries/s (samples summarized per second), genotypes/s (samples x sites per second), peak
RSS; vcftools --het's wall time and peak RSS; and the ratios.

    python -m bench.vcf_summaries [--samples 2000] [--sites 20000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REAL = Path("/usr/share/doc/python3-vcf/test/1kg.vcf.gz")
SCAN = (
    "import sys; from lazarus.producers.vcf_scan import scan_vcf; "
    "r = scan_vcf(sys.argv[1]); assert r.complete, r.problems[:3]; "
    "print(len(r.samples), r.sites_read)"
)
CALLS = np.array(["0/0", "0/1", "1/0", "1/1"])


def constructed(path: Path, samples: int, sites: int, seed: int = 7) -> Path:
    """A bgzipped VCF of `samples` x `sites` HWE genotypes (1% missing), one SNP per ~5 kb."""
    rng = np.random.default_rng(seed)
    plain = path.with_suffix("")
    with plain.open("w") as f:
        f.write('##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n')
        names = "\t".join(f"S{i:05d}" for i in range(samples))
        f.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{names}\n")
        pos = np.cumsum(rng.integers(2_000, 8_000, size=sites))
        for i in range(sites):
            p = rng.uniform(0.05, 0.95)
            alleles = (rng.random((samples, 2)) < p).astype(np.int64)
            calls = CALLS[alleles[:, 0] * 2 + alleles[:, 1]]
            calls[rng.random(samples) < 0.01] = "./."
            f.write(f"1\t{pos[i]}\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(calls) + "\n")
    with path.open("wb") as out:
        subprocess.run(["bgzip", "-c", str(plain)], stdout=out, check=True)
    plain.unlink()
    return path


def timed(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({child.returncode}): {' '.join(argv)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out


def measure(path: Path, work: Path) -> None:
    ours_s, ours_mb, out = timed([sys.executable, "-c", SCAN, str(path)], work)
    samples, sites = (int(x) for x in out.split())
    option = "--gzvcf" if path.suffix == ".gz" else "--vcf"
    vcft_s, vcft_mb, _ = timed(
        ["vcftools", option, str(path), "--het", "--out", str(work / "het")], work
    )
    print(f"{path.name}: {samples} samples x {sites} sites, {path.stat().st_size / 2**20:.1f} MiB")
    print(
        f"  lazarus scan_vcf   {ours_s:7.2f} s  {samples / ours_s:10.0f} summaries/s  "
        f"{samples * sites / ours_s:12.0f} genotypes/s  peak {ours_mb:7.1f} MiB"
    )
    print(
        f"  vcftools --het     {vcft_s:7.2f} s  {samples / vcft_s:10.0f} summaries/s  "
        f"{samples * sites / vcft_s:12.0f} genotypes/s  peak {vcft_mb:7.1f} MiB"
    )
    print(
        f"  ratio (ours / vcftools): time {ours_s / vcft_s:.2f}x, memory {ours_mb / vcft_mb:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vcf-bench-") as tmp:
        work = Path(tmp)
        if REAL.is_file():
            measure(REAL, work)
        else:
            print(f"{REAL} missing: sudo apt-get install python-pyvcf-examples")
        built = constructed(work / "constructed.vcf.gz", args.samples, args.sites)
        measure(built, work)


if __name__ == "__main__":
    main()
