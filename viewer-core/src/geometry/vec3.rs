//! Three-vectors in patient space (millimetres, LPS).

use std::ops::{Add, Mul, Neg, Sub};

/// A point or direction in patient space.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Vec3 {
    pub const fn new(x: f64, y: f64, z: f64) -> Vec3 {
        Vec3 { x, y, z }
    }

    pub fn dot(self, o: Vec3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// The right-handed cross product `self × o`.
    pub fn cross(self, o: Vec3) -> Vec3 {
        Vec3::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }

    pub fn length(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// The unit vector in the same direction; `None` for a zero or
    /// non-finite vector, which has no direction.
    pub fn normalise(self) -> Option<Vec3> {
        let len = self.length();
        (len.is_finite() && len > 0.0).then(|| Vec3::new(self.x / len, self.y / len, self.z / len))
    }

    // Named methods as well as the operators, for call sites that read better as words.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }

    pub fn scale(self, k: f64) -> Vec3 {
        Vec3::new(self.x * k, self.y * k, self.z * k)
    }

    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite() && self.z.is_finite()
    }

    /// The components as an array `[x, y, z]`.
    pub fn to_array(self) -> [f64; 3] {
        [self.x, self.y, self.z]
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    fn add(self, o: Vec3) -> Vec3 {
        Vec3::add(self, o)
    }
}

impl Sub for Vec3 {
    type Output = Vec3;
    fn sub(self, o: Vec3) -> Vec3 {
        Vec3::sub(self, o)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Vec3;
    fn mul(self, k: f64) -> Vec3 {
        self.scale(k)
    }
}

impl Neg for Vec3 {
    type Output = Vec3;
    fn neg(self) -> Vec3 {
        self.scale(-1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_follows_the_right_hand_rule() {
        let x = Vec3::new(1.0, 0.0, 0.0);
        let y = Vec3::new(0.0, 1.0, 0.0);
        assert_eq!(x.cross(y), Vec3::new(0.0, 0.0, 1.0));
        assert_eq!(y.cross(x), Vec3::new(0.0, 0.0, -1.0));
        // (1,2,3)×(4,5,6) = (2·6−3·5, 3·4−1·6, 1·5−2·4) = (−3, 6, −3)
        assert_eq!(
            Vec3::new(1.0, 2.0, 3.0).cross(Vec3::new(4.0, 5.0, 6.0)),
            Vec3::new(-3.0, 6.0, -3.0)
        );
    }

    #[test]
    fn arithmetic_and_normalisation() {
        let a = Vec3::new(3.0, 0.0, 4.0);
        assert_eq!(a.length(), 5.0);
        assert_eq!(a.normalise(), Some(Vec3::new(0.6, 0.0, 0.8)));
        assert_eq!(Vec3::default().normalise(), None);
        assert_eq!(Vec3::new(f64::NAN, 0.0, 0.0).normalise(), None);
        assert_eq!(a + a, Vec3::new(6.0, 0.0, 8.0));
        assert_eq!(a - a, Vec3::default());
        assert_eq!(a * 2.0, Vec3::new(6.0, 0.0, 8.0));
        assert_eq!(-a, Vec3::new(-3.0, 0.0, -4.0));
        assert_eq!(a.dot(Vec3::new(1.0, 1.0, 1.0)), 7.0);
    }
}
