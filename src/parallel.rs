//! Order-preserving parallel map over a slice, for the CPU- and I/O-bound
//! loops of compilation (reading files, rendering templates, writing SQL).
//! Small inputs stay on the calling thread, where spawning would cost more
//! than it saves.

/// Applies `f` to every item, using up to one thread per core once there
/// are at least `min_per_thread` items per thread; results keep input order.
pub fn map_in_order<T, R, F>(items: &[T], min_per_thread: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = cores.min(items.len() / min_per_thread.max(1) + 1);
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::map_in_order;

    #[test]
    fn keeps_order_across_threads() {
        let items: Vec<usize> = (0..10_000).collect();
        let out = map_in_order(&items, 10, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(map_in_order(&[] as &[usize], 10, |x| *x).is_empty());
    }
}
