//! Optimizers (SGD with momentum, Adam, AdamW) and learning-rate schedules, with PyTorch's
//! update rules so hyper-parameters carry over.

use super::config::{OptimizerKind, ScheduleKind, TrainConfig};

/// Hyper-parameters and state of the optimizer: one or two buffers per trained tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    /// Which update rule.
    pub kind: OptimizerKind,
    momentum: f32,
    nesterov: bool,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    /// Updates made so far (Adam's bias correction).
    pub steps: u64,
    /// SGD: momentum buffer; Adam: first moment. One per tensor.
    pub first: Vec<Vec<f32>>,
    /// Adam: second moment (empty for SGD).
    pub second: Vec<Vec<f32>>,
}

/// A tensor the optimizer updates.
#[derive(Debug)]
pub struct ParamMut<'a> {
    /// Values.
    pub value: &'a mut [f32],
    /// Gradient.
    pub grad: &'a [f32],
    /// Whether weight decay applies (convolution and linear weights only).
    pub decay: bool,
}

impl Optimizer {
    /// A fresh optimizer for tensors of the given sizes.
    pub fn new(cfg: &TrainConfig, sizes: &[usize]) -> Self {
        let zeros = || sizes.iter().map(|n| vec![0.0f32; *n]).collect::<Vec<_>>();
        Self {
            kind: cfg.optimizer,
            momentum: cfg.momentum as f32,
            nesterov: cfg.nesterov,
            beta1: cfg.betas[0] as f32,
            beta2: cfg.betas[1] as f32,
            eps: cfg.eps as f32,
            weight_decay: cfg.weight_decay as f32,
            steps: 0,
            first: zeros(),
            second: if cfg.optimizer == OptimizerKind::Sgd {
                Vec::new()
            } else {
                zeros()
            },
        }
    }

    /// The names of the state buffers a checkpoint holds per tensor.
    pub fn state_names(&self) -> &'static [&'static str] {
        match self.kind {
            OptimizerKind::Sgd => &["momentum_buffer"],
            OptimizerKind::Adam | OptimizerKind::Adamw => &["exp_avg", "exp_avg_sq"],
        }
    }

    /// One update of every tensor at learning rate `lr`.
    pub fn step(&mut self, params: Vec<ParamMut<'_>>, lr: f32) {
        self.steps += 1;
        let t = self.steps as i32;
        match self.kind {
            OptimizerKind::Sgd => {
                let (mu, nesterov) = (self.momentum, self.nesterov);
                for (p, buf) in params.into_iter().zip(&mut self.first) {
                    let wd = if p.decay { self.weight_decay } else { 0.0 };
                    for ((w, g), v) in p.value.iter_mut().zip(p.grad).zip(buf.iter_mut()) {
                        let g = g + wd * *w;
                        *v = mu * *v + g;
                        let d = if nesterov { g + mu * *v } else { *v };
                        *w -= lr * d;
                    }
                }
            }
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                let decoupled = self.kind == OptimizerKind::Adamw;
                let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
                let c1 = 1.0 - b1.powi(t);
                let c2 = (1.0 - b2.powi(t)).sqrt();
                for ((p, m), v) in params
                    .into_iter()
                    .zip(&mut self.first)
                    .zip(&mut self.second)
                {
                    let wd = if p.decay { self.weight_decay } else { 0.0 };
                    for (((w, g), m), v) in p
                        .value
                        .iter_mut()
                        .zip(p.grad)
                        .zip(m.iter_mut())
                        .zip(v.iter_mut())
                    {
                        let g = if decoupled {
                            *w -= lr * wd * *w;
                            *g
                        } else {
                            g + wd * *w
                        };
                        *m = b1 * *m + (1.0 - b1) * g;
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        *w -= lr * (*m / c1) / ((*v).sqrt() / c2 + eps);
                    }
                }
            }
        }
    }
}

/// The learning rate at a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    kind: ScheduleKind,
    peak: f64,
    min: f64,
    warmup_steps: f64,
    total_steps: f64,
    steps_per_epoch: f64,
    step_size: f64,
    gamma: f64,
}

impl Schedule {
    /// The schedule of `cfg` with `steps_per_epoch` updates per epoch.
    pub fn new(cfg: &TrainConfig, steps_per_epoch: usize) -> Self {
        let spe = steps_per_epoch.max(1) as f64;
        Self {
            kind: cfg.schedule,
            peak: cfg.peak_lr(),
            min: cfg.min_lr,
            warmup_steps: cfg.warmup_epochs * spe,
            total_steps: cfg.epochs as f64 * spe,
            steps_per_epoch: spe,
            step_size: cfg.step_size.unwrap_or((cfg.epochs / 3).max(1)) as f64,
            gamma: cfg.gamma,
        }
    }

    /// The rate for update number `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        let s = step as f64;
        if s < self.warmup_steps {
            return self.peak * (s + 1.0) / self.warmup_steps;
        }
        match self.kind {
            ScheduleKind::Constant => self.peak,
            ScheduleKind::Step => {
                let epoch = (s / self.steps_per_epoch).floor();
                self.peak * self.gamma.powf((epoch / self.step_size).floor())
            }
            ScheduleKind::Cosine => {
                let span = (self.total_steps - self.warmup_steps).max(1.0);
                let progress = ((s - self.warmup_steps) / span).clamp(0.0, 1.0);
                self.min
                    + 0.5 * (self.peak - self.min) * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml: &str) -> TrainConfig {
        let t: toml::Table = toml::from_str(toml).unwrap();
        TrainConfig::from_table(&t).unwrap()
    }

    #[test]
    fn sgd_with_momentum_follows_pytorch() {
        let c = cfg("checkpoint = \"c\"\noptimizer = \"sgd\"\nmomentum = 0.5\nweight_decay = 0.1");
        let mut o = Optimizer::new(&c, &[1]);
        let mut w = [1.0f32];
        // Step 1: g = 2 + 0.1·1 = 2.1, v = 2.1, w = 1 − 0.1·2.1 = 0.79.
        o.step(
            vec![ParamMut {
                value: &mut w,
                grad: &[2.0],
                decay: true,
            }],
            0.1,
        );
        assert!((w[0] - 0.79).abs() < 1e-6);
        // Step 2: g = 2 + 0.079, v = 0.5·2.1 + 2.079 = 3.129, w = 0.79 − 0.3129.
        o.step(
            vec![ParamMut {
                value: &mut w,
                grad: &[2.0],
                decay: true,
            }],
            0.1,
        );
        assert!((w[0] - (0.79 - 0.3129)).abs() < 1e-6);
    }

    #[test]
    fn adam_first_step_moves_each_weight_by_the_learning_rate() {
        let c = cfg("checkpoint = \"c\"\noptimizer = \"adam\"");
        let mut o = Optimizer::new(&c, &[2]);
        let mut w = [1.0f32, -1.0];
        o.step(
            vec![ParamMut {
                value: &mut w,
                grad: &[0.3, -5.0],
                decay: false,
            }],
            0.01,
        );
        // m̂ = g, v̂ = g², so the step is lr·g/|g| (up to ε).
        assert!((w[0] - 0.99).abs() < 1e-6, "{}", w[0]);
        assert!((w[1] + 0.99).abs() < 1e-6, "{}", w[1]);
    }

    #[test]
    fn schedules_warm_up_then_decay() {
        let c = cfg(
            "checkpoint = \"c\"\nlr = 1.0\nepochs = 4\nwarmup_epochs = 1\nschedule = \"cosine\"",
        );
        let s = Schedule::new(&c, 10);
        assert!((s.lr(0) - 0.1).abs() < 1e-12);
        assert!((s.lr(9) - 1.0).abs() < 1e-12);
        assert!((s.lr(10) - 1.0).abs() < 1e-12);
        assert!((s.lr(25) - 0.5).abs() < 1e-12);
        assert!(s.lr(39) < 0.01);
        let c = cfg(
            "checkpoint = \"c\"\nlr = 1.0\nepochs = 6\nschedule = \"step\"\nstep_size = 2\ngamma = 0.5",
        );
        let s = Schedule::new(&c, 10);
        assert_eq!(s.lr(19), 1.0);
        assert_eq!(s.lr(20), 0.5);
        assert_eq!(s.lr(59), 0.25);
    }
}
