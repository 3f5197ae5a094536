// The SVG layer over the view: the calibration markers (the points tapped and the line between
// them) and the frozen frame's bridged gaps, dashed cyan as infer's overlay and the survey map
// draw them. Both are in mask px; drawn again whenever the view moves.
type Point = [number, number];

export class MarksLayer {
  private points: Point[] = [];
  private bridges: [Point, Point][] = [];

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly maskToScreen: (mx: number, my: number) => Point,
  ) {}

  setPoints(points: Point[]): void {
    this.points = points;
  }

  setBridges(lines: [Point, Point][]): void {
    this.bridges = lines;
  }

  draw(): void {
    const parts: string[] = [];
    for (const [a, b] of this.bridges) {
      const [x1, y1] = this.maskToScreen(a[0] + 0.5, a[1] + 0.5),
        [x2, y2] = this.maskToScreen(b[0] + 0.5, b[1] + 0.5);
      parts.push(
        `<line class="bridge" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#0ff" stroke-width="3" stroke-dasharray="6 4" stroke-linecap="round"/>`,
      );
    }
    const pts = this.points.map(([x, y]) => this.maskToScreen(x, y));
    if (pts.length === 2) parts.push(`<line x1="${pts[0][0]}" y1="${pts[0][1]}" x2="${pts[1][0]}" y2="${pts[1][1]}" stroke="#0f0" stroke-width="3"/>`);
    for (const [x, y] of pts)
      parts.push(`<circle cx="${x}" cy="${y}" r="10" fill="none" stroke="#0f0" stroke-width="3"/><circle cx="${x}" cy="${y}" r="2" fill="#0f0"/>`);
    this.svg.innerHTML = parts.join('');
  }
}
