//! Conformance story for server secrets (shared by every node).

use roster_core::store::Store;
use std::sync::Arc;

pub async fn server_secrets_are_made_once_and_shared(store: Arc<dyn Store>) {
    let mut tx = store.begin().await.expect("begin");
    let first = tx
        .get_or_insert_secret("flash", &[1u8; 32])
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(first, vec![1u8; 32]);
    // a later (or concurrent) node's candidate loses: everyone gets the stored one
    let mut tx = store.begin().await.expect("begin");
    let again = tx
        .get_or_insert_secret("flash", &[2u8; 32])
        .await
        .expect("get");
    let other = tx
        .get_or_insert_secret("other", &[3u8; 32])
        .await
        .expect("other");
    tx.commit().await.expect("commit");
    assert_eq!(again, vec![1u8; 32]);
    assert_eq!(other, vec![3u8; 32]);
    // a rolled-back insert leaves nothing behind
    let mut tx = store.begin().await.expect("begin");
    tx.get_or_insert_secret("gone", &[4u8; 32])
        .await
        .expect("insert");
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    let fresh = tx
        .get_or_insert_secret("gone", &[5u8; 32])
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(fresh, vec![5u8; 32]);
}
