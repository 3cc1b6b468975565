//! Bulk invitation lists for benchmarks.

use roster_core::model::BulkRow;

/// `n` distinct rows (`person{i}@example.com`), as the bulk benchmarks send them.
pub fn bulk_rows(n: usize) -> Vec<BulkRow> {
    (0..n)
        .map(|i| BulkRow {
            email: format!("person{i}@example.com"),
            first_name: Some("Person".into()),
            last_name: Some(format!("Number {i}")),
            ..BulkRow::default()
        })
        .collect()
}
