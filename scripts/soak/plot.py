#!/usr/bin/env python3
"""RSS over a soak: an SVG line chart and the figures BENCHMARKS.md quotes.

Exit status 1 when the RSS passed --max-rss-mb, or (soaks of 10 minutes and more) grew
over the second half by more than --max-growth-percent of the level at half time.
"""
import argparse, csv, sys

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("svg")
    parser.add_argument("--max-rss-mb", type=float, default=1024)
    parser.add_argument("--max-growth-percent", type=float, default=5)
    parser.add_argument("--load-rounds", default="?")
    parser.add_argument("--abuse-rounds", default="?")
    args = parser.parse_args()
    rows = [(int(r["seconds"]), int(r["rss_kib"]) / 1024) for r in csv.DictReader(open(args.csv)) if int(r["rss_kib"]) > 0]
    if len(rows) < 2:
        print("too few samples"); sys.exit(1)
    duration = rows[-1][0]
    half = [mb for s, mb in rows if s >= duration / 2]
    # Medians of the first and last tenth of the second half: robust to one noisy sample.
    tenth = max(1, len(half) // 10)
    at_half = sorted(half[:tenth])[tenth // 2]
    at_end = sorted(half[-tenth:])[tenth // 2]
    peak = max(mb for _, mb in rows)
    growth = (at_end - at_half) / at_half * 100
    lines = [
        f"duration {duration} s, {len(rows)} samples, load rounds {args.load_rounds}, abuse rounds {args.abuse_rounds}",
        f"RSS start {rows[0][1]:.1f} MiB, at half time {at_half:.1f} MiB, at the end {at_end:.1f} MiB, peak {peak:.1f} MiB",
        f"growth over the second half {growth:+.1f}% ({(at_end - at_half):+.1f} MiB)",
    ]
    failed = []
    if peak > args.max_rss_mb: failed.append(f"peak {peak:.0f} MiB > {args.max_rss_mb:.0f} MiB")
    if duration >= 600 and growth > args.max_growth_percent: failed.append(f"still growing: {growth:+.1f}% > {args.max_growth_percent}%")
    lines.append("verdict: " + ("FAIL: " + "; ".join(failed) if failed else "flat" if duration >= 600 else "bounded (too short to judge flatness)"))
    print("\n".join(lines))

    width, height, pad = 900, 320, 50
    top = max(peak * 1.1, 1)
    def x(s): return pad + (width - 2 * pad) * s / max(duration, 1)
    def y(mb): return height - pad - (height - 2 * pad) * mb / top
    points = " ".join(f"{x(s):.1f},{y(mb):.1f}" for s, mb in rows)
    ticks = "".join(f'<text x="{pad - 6}" y="{y(top * i / 4) + 4:.1f}" text-anchor="end" font-size="11">{top * i / 4:.0f}</text>'
                    f'<line x1="{pad}" x2="{width - pad}" y1="{y(top * i / 4):.1f}" y2="{y(top * i / 4):.1f}" stroke="#eee"/>' for i in range(5))
    minutes = "".join(f'<text x="{x(m * 60):.1f}" y="{height - pad + 16}" text-anchor="middle" font-size="11">{m}</text>'
                      for m in range(0, duration // 60 + 1, max(1, duration // 600)))
    svg = f'''<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>{ticks}{minutes}
<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{points}"/>
<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">hawker serve RSS (MiB) over a {duration // 60}-minute soak, load and abuse probes running</text>
<text x="{width / 2}" y="{height - 8}" text-anchor="middle" font-size="11">minutes</text>
</svg>'''
    open(args.svg, "w").write(svg)
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main()
