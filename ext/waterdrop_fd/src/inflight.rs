//! The in-flight table: delivery handles waiting for their report, indexed by the small
//! integer that travels through librdkafka as the message opaque. librdkafka never sees a
//! Ruby VALUE, and every handle stays reachable (marked) until its report arrives.

/// A slab of entries addressed by `id = index + 1` (0 is never used, so a NULL opaque
/// can never match).
#[derive(Debug)]
pub struct InFlight<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> InFlight<T> {
    /// Stores `value` and returns its id (never 0).
    pub fn insert(&mut self, value: T) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(value);
                i + 1
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len()
            }
        }
    }

    /// Removes and returns the entry with `id`, if present.
    pub fn remove(&mut self, id: usize) -> Option<T> {
        let i = id.checked_sub(1)?;
        let v = self.slots.get_mut(i)?.take()?;
        self.free.push(i);
        self.len -= 1;
        Some(v)
    }

    /// The entry with `id`, left in place.
    pub fn get(&self, id: usize) -> Option<&T> {
        self.slots.get(id.checked_sub(1)?)?.as_ref()
    }

    /// One past the largest id handed out so far (ids are `1..end_id()`).
    pub fn end_id(&self) -> usize {
        self.slots.len() + 1
    }

    /// Removes every entry (a client that is gone will never report them).
    pub fn take_all(&mut self) -> Vec<T> {
        let out: Vec<T> = self.slots.iter_mut().filter_map(Option::take).collect();
        self.slots.clear();
        self.free.clear();
        self.len = 0;
        out
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_zero_and_round_trip() {
        let mut t = InFlight::default();
        let a = t.insert("a");
        let b = t.insert("b");
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!(t.remove(a), Some("a"));
        assert_eq!(t.remove(a), None, "a report is taken once");
        assert_eq!(t.remove(0), None);
        assert_eq!(t.remove(b), Some("b"));
        assert!(t.is_empty());
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut t = InFlight::default();
        let ids: Vec<usize> = (0..100).map(|i| t.insert(i)).collect();
        for id in &ids {
            t.remove(*id);
        }
        for i in 0..100 {
            t.insert(i);
        }
        assert_eq!(t.slots.len(), 100);
        assert_eq!(t.len(), 100);
    }

    #[test]
    fn get_leaves_entries_in_place() {
        let mut t = InFlight::default();
        assert_eq!(t.end_id(), 1);
        let a = t.insert('a');
        let b = t.insert('b');
        assert_eq!(t.get(b), Some(&'b'));
        assert_eq!(t.end_id(), 3);
        t.remove(a);
        assert_eq!(t.get(b), Some(&'b'));
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(a), None);
        assert_eq!(t.get(0), None);
    }

    #[test]
    fn unknown_ids_are_ignored() {
        let mut t: InFlight<u8> = InFlight::default();
        assert_eq!(t.remove(12345), None);
    }

    #[test]
    fn take_all_empties_the_table() {
        let mut t = InFlight::default();
        for i in 0..10 {
            t.insert(i);
        }
        let mut all = t.take_all();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert!(t.is_empty());
        assert_eq!(t.iter().count(), 0);
    }

    #[test]
    fn a_million_inserts_and_removes_keep_the_count_right() {
        let mut t = InFlight::default();
        let mut live = Vec::new();
        for i in 0..1_000_000usize {
            live.push(t.insert(i));
            if i % 3 == 0 {
                let id = live.swap_remove(live.len() / 2);
                assert!(t.remove(id).is_some());
            }
        }
        assert_eq!(t.len(), live.len());
    }
}
