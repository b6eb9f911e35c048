//! Limited-memory BFGS with every vector operation done in place.
//!
//! argmin's L-BFGS, which stance used first, allocates a new vector for every vector operation,
//! and over a vocabulary's worth of weights that allocation dominated each iteration. This one
//! reuses its buffers and reaches the same optimum (a test checks it against argmin on a sparse
//! problem); BENCHMARKS.md (Training) has the timings.

/// A smooth function to minimise: writes the gradient at `x` into `grad`, returns the value.
pub trait Objective {
    /// The value at `x`, with its gradient written into `grad` (same length as `x`).
    fn eval(&mut self, x: &[f64], grad: &mut [f64]) -> f64;
}

/// Settings of [`minimise`].
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Correction pairs kept.
    pub memory: usize,
    /// Most iterations (accepted steps).
    pub max_iter: u64,
    /// Stop when the gradient's Euclidean norm falls below this.
    pub tol_grad: f64,
    /// Stop when an accepted step lowers the value by less than this.
    pub tol_cost: f64,
}

/// Where [`minimise`] stopped.
#[derive(Debug, Clone)]
pub struct Minimum {
    /// The point.
    pub x: Vec<f64>,
    /// The value there.
    pub value: f64,
    /// Iterations run.
    pub iterations: u64,
}

/// Sufficient-decrease constant of the backtracking line search (Armijo).
const ARMIJO: f64 = 1e-4;
/// Step halvings tried before the search gives up.
const MAX_BACKTRACKS: usize = 40;

/// Dot product over eight independent partial sums (vectorisable, fixed order).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    dot_with(a, b, |x| x)
}

/// Dot product of a stored (single-precision) correction vector with a double one.
fn dot32(a: &[f32], b: &[f64]) -> f64 {
    dot_with(a, b, |x| x as f64)
}

#[inline(always)]
fn dot_with<T: Copy>(a: &[T], b: &[f64], widen: impl Fn(T) -> f64) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += widen(x[k]) * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(&x, y)| widen(x) * y).sum();
    acc.iter().sum::<f64>() + tail
}

/// Minimises `f` from `x0` by L-BFGS with a backtracking (Armijo) line search; the first
/// step is scaled to unit length, later ones start at 1 with the usual `s·y / y·y` scaling
/// of the initial Hessian. Pairs with `s·y ≤ 0` (never on a strictly convex objective) are
/// skipped. Returns the best point reached.
pub fn minimise(
    f: &mut impl Objective,
    x0: Vec<f64>,
    diagonal: Option<&[f64]>,
    settings: Settings,
) -> Minimum {
    let n = x0.len();
    let m = settings.memory.max(1);
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut value = f.eval(&x, &mut g);
    // Correction pairs (s, y, 1 / s·y), oldest first, kept in single precision: they only
    // shape the search direction, and half the memory is half the time of the two loops.
    let mut pairs: std::collections::VecDeque<(Vec<f32>, Vec<f32>, f64)> =
        std::collections::VecDeque::with_capacity(m);
    let mut alpha = vec![0.0; m];
    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut iterations = 0;
    while iterations < settings.max_iter {
        if dot(&g, &g).sqrt() < settings.tol_grad {
            break;
        }
        // Two-loop recursion: d = -H g.
        for (di, gi) in d.iter_mut().zip(&g) {
            *di = -gi;
        }
        for (j, (s, y, rho)) in pairs.iter().enumerate().rev() {
            alpha[j] = rho * dot32(s, &d);
            for (di, &yi) in d.iter_mut().zip(y) {
                *di -= alpha[j] * yi as f64;
            }
        }
        let mut step = 1.0;
        if let Some((_, y, rho)) = pairs.back() {
            match diagonal {
                Some(h) => {
                    // H0 = gamma · diag(h), gamma = s·y / y·diag(h)·y
                    let yhy: f64 = y.iter().zip(h).map(|(&a, b)| (a as f64).powi(2) * b).sum();
                    let gamma = 1.0 / (rho * yhy);
                    for (di, hi) in d.iter_mut().zip(h) {
                        *di *= gamma * hi;
                    }
                }
                None => {
                    let yy: f64 = y.iter().map(|&a| (a as f64).powi(2)).sum();
                    let gamma = 1.0 / (rho * yy);
                    for di in d.iter_mut() {
                        *di *= gamma;
                    }
                }
            }
            for (j, (s, y, rho)) in pairs.iter().enumerate() {
                let beta = rho * dot32(y, &d);
                for (di, &si) in d.iter_mut().zip(s) {
                    *di += (alpha[j] - beta) * si as f64;
                }
            }
        } else {
            step = 1.0 / dot(&d, &d).sqrt().max(f64::MIN_POSITIVE);
        }
        let mut slope = dot(&g, &d);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            pairs.clear();
            for (di, gi) in d.iter_mut().zip(&g) {
                *di = -gi;
            }
            slope = -dot(&g, &g);
            step = 1.0 / (-slope).sqrt().max(f64::MIN_POSITIVE);
        }
        // Backtracking line search.
        let mut accepted = None;
        for _ in 0..MAX_BACKTRACKS {
            for ((xn, xi), di) in x_new.iter_mut().zip(&x).zip(&d) {
                *xn = xi + step * di;
            }
            let v = f.eval(&x_new, &mut g_new);
            if v.is_finite() && v <= value + ARMIJO * step * slope {
                accepted = Some(v);
                break;
            }
            // Minimum of the quadratic through value, slope and v, kept within [0.1, 0.5].
            let q = if v.is_finite() {
                -slope * step * step / (2.0 * (v - value - slope * step))
            } else {
                0.1 * step
            };
            step = q.clamp(0.1 * step, 0.5 * step);
        }
        let Some(v) = accepted else { break };
        iterations += 1;
        // The new pair reuses the oldest pair's buffers once the memory is full.
        let (mut s, mut y, _) = if pairs.len() == m {
            pairs.pop_front().expect("full memory")
        } else {
            (vec![0.0; n], vec![0.0; n], 0.0)
        };
        for (si, (a, b)) in s.iter_mut().zip(x_new.iter().zip(&x)) {
            *si = (a - b) as f32;
        }
        for (yi, (a, b)) in y.iter_mut().zip(g_new.iter().zip(&g)) {
            *yi = (a - b) as f32;
        }
        let sy: f64 = s.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64).sum();
        if sy > 0.0 {
            pairs.push_back((s, y, 1.0 / sy));
        }
        let decrease = value - v;
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        value = v;
        if decrease < settings.tol_cost {
            break;
        }
    }
    Minimum {
        x,
        value,
        iterations,
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // the maths reads better indexed
mod tests {
    use super::*;

    /// f(x) = Σ_i a_i (x_i - c_i)² / 2 + (x_0 - x_1)² / 2: strictly convex, badly scaled.
    struct Quadratic {
        a: Vec<f64>,
        c: Vec<f64>,
    }

    impl Objective for Quadratic {
        fn eval(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
            let mut v = 0.0;
            for i in 0..x.len() {
                let d = x[i] - self.c[i];
                v += 0.5 * self.a[i] * d * d;
                grad[i] = self.a[i] * d;
            }
            let e = x[0] - x[1];
            v += 0.5 * e * e;
            grad[0] += e;
            grad[1] -= e;
            v
        }
    }

    fn settings(max_iter: u64) -> Settings {
        Settings {
            memory: 10,
            max_iter,
            tol_grad: 1e-10,
            tol_cost: 0.0,
        }
    }

    #[test]
    fn finds_the_minimum_of_a_badly_scaled_quadratic_with_and_without_a_diagonal() {
        let n = 50;
        let a: Vec<f64> = (0..n).map(|i| 10f64.powf(i as f64 / 10.0 - 2.0)).collect();
        let c: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        // The coupling term moves the optimum of x_0 and x_1 off c: solve that 2×2 block.
        let (a0, a1) = (a[0], a[1]);
        let det = (a0 + 1.0) * (a1 + 1.0) - 1.0;
        let x0 = ((a1 + 1.0) * a0 * c[0] + a1 * c[1]) / det;
        let x1 = (a0 * c[0] + (a0 + 1.0) * a1 * c[1]) / det;
        let diag: Vec<f64> = a.iter().map(|v| 1.0 / v).collect();
        for d in [None, Some(diag.as_slice())] {
            let mut f = Quadratic {
                a: a.clone(),
                c: c.clone(),
            };
            let m = minimise(&mut f, vec![0.0; n], d, settings(2000));
            assert!((m.x[0] - x0).abs() < 1e-6, "{} vs {x0}", m.x[0]);
            assert!((m.x[1] - x1).abs() < 1e-6, "{} vs {x1}", m.x[1]);
            for i in 2..n {
                assert!(
                    (m.x[i] - c[i]).abs() < 1e-6,
                    "x[{i}] = {} vs {}",
                    m.x[i],
                    c[i]
                );
            }
        }
    }

    #[test]
    fn the_diagonal_gets_there_in_fewer_iterations() {
        let n = 200;
        let a: Vec<f64> = (0..n).map(|i| 10f64.powf(i as f64 / 40.0 - 2.0)).collect();
        let c = vec![1.0; n];
        let diag: Vec<f64> = a.iter().map(|v| 1.0 / v).collect();
        let run = |d: Option<&[f64]>| {
            let mut f = Quadratic {
                a: a.clone(),
                c: c.clone(),
            };
            minimise(&mut f, vec![0.0; n], d, settings(15)).value
        };
        let (plain, scaled) = (run(None), run(Some(&diag)));
        assert!(scaled < plain, "scaled {scaled} vs plain {plain}");
    }

    #[test]
    fn agrees_with_argmin_lbfgs_on_logistic_loss() {
        use argmin::core::{CostFunction, Executor, Gradient, State};
        use argmin::solver::linesearch::MoreThuenteLineSearch;
        use argmin::solver::quasinewton::LBFGS;

        // Logistic loss with a small ridge on 40 points in 3 dimensions.
        #[derive(Clone)]
        struct Logistic {
            x: Vec<[f64; 3]>,
            y: Vec<f64>,
        }
        impl Logistic {
            fn both(&self, w: &[f64], g: &mut [f64]) -> f64 {
                g.fill(0.0);
                let mut v = 0.0;
                for (x, &y) in self.x.iter().zip(&self.y) {
                    let z: f64 = y * (0..3).map(|k| w[k] * x[k]).sum::<f64>();
                    v += (-z).exp().ln_1p();
                    let s = -y / (1.0 + z.exp());
                    for k in 0..3 {
                        g[k] += s * x[k];
                    }
                }
                for k in 0..3 {
                    v += 0.05 * w[k] * w[k];
                    g[k] += 0.1 * w[k];
                }
                v
            }
        }
        impl Objective for Logistic {
            fn eval(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
                self.both(x, grad)
            }
        }
        impl CostFunction for Logistic {
            type Param = Vec<f64>;
            type Output = f64;
            fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
                Ok(self.both(p, &mut [0.0; 3]))
            }
        }
        impl Gradient for Logistic {
            type Param = Vec<f64>;
            type Gradient = Vec<f64>;
            fn gradient(&self, p: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
                let mut g = vec![0.0; 3];
                self.both(p, &mut g);
                Ok(g)
            }
        }
        let mut problem = Logistic {
            x: Vec::new(),
            y: Vec::new(),
        };
        for i in 0..40 {
            let a = ((i * 37) % 17) as f64 / 17.0 - 0.5;
            let b = ((i * 11) % 13) as f64 / 13.0 - 0.5;
            problem.x.push([a, b, 1.0]);
            problem
                .y
                .push(if a - 0.5 * b + 0.1 * ((i % 5) as f64 - 2.0) > 0.0 {
                    1.0
                } else {
                    -1.0
                });
        }
        let ours = minimise(&mut problem.clone(), vec![0.0; 3], None, settings(500));
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
            .with_tolerance_grad(1e-10)
            .unwrap();
        let theirs = Executor::new(problem, solver)
            .configure(|s| s.param(vec![0.0; 3]).max_iters(500))
            .run()
            .unwrap();
        let best = theirs.state().get_best_param().unwrap();
        assert!((ours.value - theirs.state().get_best_cost()).abs() < 1e-10);
        for k in 0..3 {
            assert!(
                (ours.x[k] - best[k]).abs() < 1e-5,
                "w[{k}]: {} vs {}",
                ours.x[k],
                best[k]
            );
        }
    }
}
