// L-BFGS, the optimiser the logistic adapters (logistic-adapter.ts) and the zero-shot Platt scaling train with.

/** Minimises f (which writes its gradient into g) from w, in place; returns the final value. */
export function lbfgs(f: (w: Float64Array, g: Float64Array) => number, w: Float64Array, maxIter = 60, memory = 7, tol = 1e-6): number {
  const n = w.length;
  const g = new Float64Array(n);
  let fx = f(w, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(n);
  const alpha = new Float64Array(memory);
  const wNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  for (let it = 0; it < maxIter; it++) {
    let gnorm = 0;
    for (let i = 0; i < n; i++) gnorm += g[i]! * g[i]!;
    gnorm = Math.sqrt(gnorm);
    if (gnorm < tol) break;
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i]!;
    for (let k = s.length - 1; k >= 0; k--) {
      let a = 0;
      for (let i = 0; i < n; i++) a += s[k]![i]! * dir[i]!;
      a *= rho[k]!;
      alpha[k] = a;
      for (let i = 0; i < n; i++) dir[i]! -= a * y[k]![i]!;
    }
    if (s.length > 0) {
      const last = s.length - 1;
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n; i++) { sy += s[last]![i]! * y[last]![i]!; yy += y[last]![i]! * y[last]![i]!; }
      const scale = sy / yy;
      for (let i = 0; i < n; i++) dir[i]! *= scale;
    } else {
      for (let i = 0; i < n; i++) dir[i]! /= Math.max(1, gnorm);
    }
    for (let k = 0; k < s.length; k++) {
      let b = 0;
      for (let i = 0; i < n; i++) b += y[k]![i]! * dir[i]!;
      b *= rho[k]!;
      for (let i = 0; i < n; i++) dir[i]! += s[k]![i]! * (alpha[k]! - b);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i]! * dir[i]!;
    if (slope >= 0) { for (let i = 0; i < n; i++) dir[i] = -g[i]!; slope = -gnorm * gnorm; s.length = 0; y.length = 0; rho.length = 0; }
    // Backtracking line search (Armijo).
    let step = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 30; tries++) {
      for (let i = 0; i < n; i++) wNew[i] = w[i]! + step * dir[i]!;
      fNew = f(wNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx)) break;
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) { sk[i] = wNew[i]! - w[i]!; yk[i] = gNew[i]! - g[i]!; sy += sk[i]! * yk[i]!; }
    const improvement = fx - fNew;
    w.set(wNew);
    g.set(gNew);
    fx = fNew;
    if (sy > 1e-12) {
      s.push(sk); y.push(yk); rho.push(1 / sy);
      if (s.length > memory) { s.shift(); y.shift(); rho.shift(); }
    }
    if (improvement < tol * Math.max(1, Math.abs(fx))) break;
  }
  return fx;
}
