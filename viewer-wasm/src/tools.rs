//! The mouse tools and the drawing of measurements, as state machines
//! over image points, so that every gesture is testable without a
//! browser.

use crate::annotations::Shape;

/// What a left-button drag does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// Window/level: horizontal drag changes the width, vertical the centre.
    #[default]
    WindowLevel,
    Zoom,
    Pan,
    Length,
    Angle,
    Rect,
    Ellipse,
}

impl Tool {
    pub const ALL: [Tool; 7] = [
        Tool::WindowLevel,
        Tool::Zoom,
        Tool::Pan,
        Tool::Length,
        Tool::Angle,
        Tool::Rect,
        Tool::Ellipse,
    ];

    /// The `data-tool` name of the tool's button.
    pub fn name(self) -> &'static str {
        match self {
            Tool::WindowLevel => "wl",
            Tool::Zoom => "zoom",
            Tool::Pan => "pan",
            Tool::Length => "length",
            Tool::Angle => "angle",
            Tool::Rect => "rect",
            Tool::Ellipse => "ellipse",
        }
    }

    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The i18n key of the tool's label.
    pub fn label_key(self) -> &'static str {
        match self {
            Tool::WindowLevel => "tool.wl",
            Tool::Zoom => "tool.zoom",
            Tool::Pan => "tool.pan",
            Tool::Length => "tool.length",
            Tool::Angle => "tool.angle",
            Tool::Rect => "tool.rect",
            Tool::Ellipse => "tool.ellipse",
        }
    }

    /// Whether the tool draws a measurement (rather than changing the view).
    pub fn measures(self) -> bool {
        matches!(
            self,
            Tool::Length | Tool::Angle | Tool::Rect | Tool::Ellipse
        )
    }
}

/// A press and release closer than this (CSS pixels) is a click: it
/// places a point instead of dragging one.
pub const CLICK_SLOP_PX: f64 = 3.0;

type Point = (f64, f64);

/// A measurement being drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pending {
    /// Two-point shapes (length, rectangle, ellipse), the second point
    /// following the pointer, button down or (after a click) up.
    TwoPoint { tool: Tool, from: Point, to: Point },
    /// Angle: first arm from `a` to the pointer.
    AngleArm { a: Point, cursor: Point },
    /// Angle: vertex placed, second arm to the pointer.
    AngleEnd {
        a: Point,
        vertex: Point,
        cursor: Point,
    },
}

/// Draws measurements from pointer events in image coordinates.
///
/// A shape is drawn either by dragging (press at the first point, release
/// at the second) or by clicking each point; an angle takes its first arm
/// by either, then one more click for the end of the second arm.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Editor {
    pending: Option<Pending>,
    pressed: bool,
    /// The current press started the shape (so a click there only places
    /// its first point).
    started_by_press: bool,
    /// The image the shape is drawn on.
    on: Option<Place>,
}

/// Which image is on screen, as the caller tells images apart (viewport,
/// series, slice): a shape belongs to the one it was begun on.
pub type Place = (usize, usize, usize);

impl Editor {
    /// Another image is on screen than the one the shape was begun on
    /// (another slice, series or viewport): the half-drawn shape is
    /// dropped, so that no point placed on one image ends up measuring
    /// on another. Call before every event and before drawing the preview.
    pub fn stay_on(&mut self, place: Place) {
        if self.on.is_some_and(|on| on != place) {
            self.cancel();
        }
        self.on = Some(place);
    }

    /// Whether a shape is being drawn (keys like Escape cancel it first).
    pub fn is_drawing(&self) -> bool {
        self.pending.is_some()
    }

    /// The button went down at `p` with measuring tool `tool`.
    pub fn press(&mut self, tool: Tool, p: Point) {
        self.pressed = true;
        self.started_by_press = self.pending.is_none();
        if self.pending.is_some() {
            self.move_to(p);
            return;
        }
        self.pending = match tool {
            Tool::Angle => Some(Pending::AngleArm { a: p, cursor: p }),
            Tool::Length | Tool::Rect | Tool::Ellipse => Some(Pending::TwoPoint {
                tool,
                from: p,
                to: p,
            }),
            _ => None,
        };
    }

    /// The pointer moved to `p` (button up or down).
    pub fn move_to(&mut self, p: Point) {
        match &mut self.pending {
            Some(Pending::TwoPoint { to, .. }) => *to = p,
            Some(Pending::AngleArm { cursor, .. }) | Some(Pending::AngleEnd { cursor, .. }) => {
                *cursor = p
            }
            None => {}
        }
    }

    /// The button came up at `p`, `dragged` when the pointer travelled
    /// more than [`CLICK_SLOP_PX`] since the press. Returns the finished
    /// shape, if this completed one.
    pub fn release(&mut self, p: Point, dragged: bool) -> Option<Shape> {
        if !std::mem::take(&mut self.pressed) {
            return None;
        }
        self.move_to(p);
        let pending = self.pending?;
        // A click that started the shape only places its first point.
        let first_click = self.started_by_press && !dragged;
        match pending {
            Pending::TwoPoint { tool, from, to } => {
                if first_click || from == to {
                    return None;
                }
                self.pending = None;
                Some(match tool {
                    Tool::Rect => Shape::Rect { from, to },
                    Tool::Ellipse => Shape::Ellipse { from, to },
                    _ => Shape::Length { a: from, b: to },
                })
            }
            Pending::AngleArm { a, cursor } => {
                if !first_click && cursor != a {
                    self.pending = Some(Pending::AngleEnd {
                        a,
                        vertex: cursor,
                        cursor,
                    });
                }
                None
            }
            Pending::AngleEnd { a, vertex, cursor } => {
                if cursor == vertex {
                    return None;
                }
                self.pending = None;
                Some(Shape::Angle {
                    a,
                    vertex,
                    b: cursor,
                })
            }
        }
    }

    /// The shape as drawn so far, for the live preview.
    pub fn preview(&self) -> Option<Shape> {
        Some(match self.pending? {
            Pending::TwoPoint {
                tool: Tool::Rect,
                from,
                to,
            } => Shape::Rect { from, to },
            Pending::TwoPoint {
                tool: Tool::Ellipse,
                from,
                to,
            } => Shape::Ellipse { from, to },
            Pending::TwoPoint { from, to, .. } => Shape::Length { a: from, b: to },
            Pending::AngleArm { a, cursor } => Shape::Length { a, b: cursor },
            Pending::AngleEnd { a, vertex, cursor } => Shape::Angle {
                a,
                vertex,
                b: cursor,
            },
        })
    }

    /// Drops the shape being drawn.
    pub fn cancel(&mut self) {
        *self = Editor::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_match_the_buttons() {
        for tool in Tool::ALL {
            assert_eq!(Tool::from_name(tool.name()), Some(tool));
        }
        assert_eq!(Tool::from_name("scroll"), None);
        assert!(Tool::Angle.measures() && !Tool::Pan.measures());
    }

    #[test]
    fn a_shape_begun_on_one_image_is_dropped_on_another() {
        let mut e = Editor::default();
        e.stay_on((0, 1, 10));
        e.press(Tool::Length, (10.0, 10.0));
        assert_eq!(e.release((10.0, 10.0), false), None, "first point placed");
        e.stay_on((0, 1, 10));
        assert!(e.is_drawing(), "the same image: still drawing");
        // Another slice of the series, then the second click.
        e.stay_on((0, 1, 12));
        assert!(!e.is_drawing());
        e.press(Tool::Length, (50.0, 10.0));
        assert_eq!(e.release((50.0, 10.0), false), None, "a new first point");
        e.stay_on((0, 1, 12));
        e.press(Tool::Length, (90.0, 10.0));
        assert_eq!(
            e.release((90.0, 10.0), false),
            Some(Shape::Length {
                a: (50.0, 10.0),
                b: (90.0, 10.0)
            }),
            "both points on the slice shown"
        );
        // Another series in the viewport drops an angle's placed arm.
        e.stay_on((0, 1, 12));
        e.press(Tool::Angle, (0.0, 0.0));
        e.release((20.0, 0.0), true);
        assert!(e.is_drawing());
        e.stay_on((0, 2, 12));
        assert_eq!(e.preview(), None);
    }

    #[test]
    fn a_drag_draws_a_length() {
        let mut e = Editor::default();
        e.press(Tool::Length, (10.0, 10.0));
        e.move_to((20.0, 10.0));
        assert_eq!(
            e.preview(),
            Some(Shape::Length {
                a: (10.0, 10.0),
                b: (20.0, 10.0)
            })
        );
        let shape = e.release((30.0, 10.0), true);
        assert_eq!(
            shape,
            Some(Shape::Length {
                a: (10.0, 10.0),
                b: (30.0, 10.0)
            })
        );
        assert!(!e.is_drawing());
    }

    #[test]
    fn a_tiny_drag_counts_as_a_click() {
        let mut e = Editor::default();
        e.press(Tool::Length, (10.0, 10.0));
        assert_eq!(e.release((10.5, 10.0), false), None);
        assert!(e.is_drawing());
    }

    #[test]
    fn two_clicks_draw_a_rectangle() {
        let mut e = Editor::default();
        e.press(Tool::Rect, (1.0, 1.0));
        assert_eq!(e.release((1.0, 1.0), false), None);
        assert!(e.is_drawing());
        e.move_to((4.0, 5.0));
        e.press(Tool::Rect, (4.0, 5.0));
        assert_eq!(
            e.release((4.0, 5.0), false),
            Some(Shape::Rect {
                from: (1.0, 1.0),
                to: (4.0, 5.0)
            })
        );
    }

    #[test]
    fn an_angle_is_a_drag_then_a_click_or_three_clicks() {
        let mut e = Editor::default();
        e.press(Tool::Angle, (0.0, 0.0));
        assert_eq!(e.release((10.0, 0.0), true), None);
        e.move_to((10.0, 10.0));
        e.press(Tool::Angle, (10.0, 10.0));
        assert_eq!(
            e.release((10.0, 10.0), false),
            Some(Shape::Angle {
                a: (0.0, 0.0),
                vertex: (10.0, 0.0),
                b: (10.0, 10.0)
            })
        );

        let mut e = Editor::default();
        for p in [(0.0, 0.0), (5.0, 0.0)] {
            e.press(Tool::Angle, p);
            assert_eq!(e.release(p, false), None);
        }
        e.press(Tool::Angle, (5.0, 5.0));
        assert!(matches!(
            e.release((5.0, 5.0), false),
            Some(Shape::Angle { .. })
        ));
    }

    #[test]
    fn view_tools_draw_nothing_and_cancel_clears() {
        let mut e = Editor::default();
        e.press(Tool::Pan, (0.0, 0.0));
        assert_eq!(e.release((9.0, 9.0), true), None);
        e.press(Tool::Ellipse, (0.0, 0.0));
        e.cancel();
        assert_eq!(e.preview(), None);
        assert_eq!(e.release((9.0, 9.0), true), None);
    }
}
