//! Network records and the endpoints (one per container and network) that
//! hold each container's addresses. The UNIQUE constraints are the IPAM's
//! last word: two containers can never be recorded with one address.

use super::DbError;
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkRow {
    pub name: String,
    pub id: String,
    /// "bridge" or "macvlan".
    pub driver: String,
    /// The bridge (or macvlan parent) interface.
    pub interface: String,
    /// Unix seconds.
    pub created: i64,
    /// JSON of network::NetworkConfig.
    pub config: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRow {
    pub network: String,
    pub container_id: String,
    /// Attachment order: the first network gives the default route.
    pub position: i64,
    /// The interface inside the container: eth0, eth1, ...
    pub interface: String,
    pub ip: String,
    pub ipv6: Option<String>,
    pub mac: String,
    pub aliases: Vec<String>,
    /// The storage root whose container this is.
    pub root: String,
}

const NET_COLS: &str = "name, id, driver, interface, created, config";
const EP_COLS: &str = "network, container_id, position, interface, ip, ipv6, mac, aliases, root";

fn net_row(r: &Row) -> rusqlite::Result<NetworkRow> {
    Ok(NetworkRow {
        name: r.get(0)?,
        id: r.get(1)?,
        driver: r.get(2)?,
        interface: r.get(3)?,
        created: r.get(4)?,
        config: r.get(5)?,
    })
}

fn ep_row(r: &Row) -> rusqlite::Result<EndpointRow> {
    let aliases: String = r.get(7)?;
    Ok(EndpointRow {
        network: r.get(0)?,
        container_id: r.get(1)?,
        position: r.get(2)?,
        interface: r.get(3)?,
        ip: r.get(4)?,
        ipv6: r.get(5)?,
        mac: r.get(6)?,
        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
        root: r.get(8)?,
    })
}

pub fn insert(conn: &Connection, n: &NetworkRow) -> Result<(), DbError> {
    conn.execute(
        &format!("INSERT INTO networks ({NET_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![n.name, n.id, n.driver, n.interface, n.created, n.config],
    )?;
    Ok(())
}

pub fn all(conn: &Connection) -> Result<Vec<NetworkRow>, DbError> {
    let mut st = conn.prepare(&format!("SELECT {NET_COLS} FROM networks ORDER BY name"))?;
    let rows = st.query_map([], net_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, name: &str) -> Result<Option<NetworkRow>, DbError> {
    Ok(conn
        .query_row(
            &format!("SELECT {NET_COLS} FROM networks WHERE name = ?1"),
            [name],
            net_row,
        )
        .optional()?)
}

pub fn delete(conn: &Connection, name: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM networks WHERE name = ?1", [name])?;
    conn.execute("DELETE FROM network_last_ip WHERE network = ?1", [name])?;
    Ok(())
}

/// The address a network's subnet handed out last.
pub fn last_ip(conn: &Connection, net: &str, subnet: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row(
            "SELECT ip FROM network_last_ip WHERE network = ?1 AND subnet = ?2",
            params![net, subnet],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn set_last_ip(conn: &Connection, net: &str, subnet: &str, ip: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO network_last_ip (network, subnet, ip) VALUES (?1, ?2, ?3)
         ON CONFLICT (network, subnet) DO UPDATE SET ip = excluded.ip",
        params![net, subnet, ip],
    )?;
    Ok(())
}

pub fn insert_endpoint(conn: &Connection, e: &EndpointRow) -> Result<(), DbError> {
    conn.execute(
        &format!(
            "INSERT INTO network_endpoints ({EP_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        params![
            e.network,
            e.container_id,
            e.position,
            e.interface,
            e.ip,
            e.ipv6,
            e.mac,
            serde_json::to_string(&e.aliases).unwrap_or_else(|_| "[]".into()),
            e.root
        ],
    )?;
    Ok(())
}

pub fn endpoints_of_container(conn: &Connection, id: &str) -> Result<Vec<EndpointRow>, DbError> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM network_endpoints WHERE container_id = ?1 ORDER BY position"
    ))?;
    let rows = st.query_map([id], ep_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn endpoints_of_network(conn: &Connection, net: &str) -> Result<Vec<EndpointRow>, DbError> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM network_endpoints WHERE network = ?1 ORDER BY ip"
    ))?;
    let rows = st.query_map([net], ep_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn delete_endpoint(conn: &Connection, net: &str, id: &str) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM network_endpoints WHERE network = ?1 AND container_id = ?2",
        [net, id],
    )?;
    Ok(())
}

/// The containers of `root` that hold endpoints.
pub fn containers_of_root(conn: &Connection, root: &str) -> Result<Vec<String>, DbError> {
    let mut st =
        conn.prepare("SELECT DISTINCT container_id FROM network_endpoints WHERE root = ?1")?;
    let rows = st
        .query_map([root], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Rename a network and its endpoints with it, in the caller's transaction
/// (the endpoints reference the name; the check waits for the commit).
pub fn rename(conn: &Connection, old: &str, new: &str) -> Result<(), DbError> {
    conn.execute_batch("PRAGMA defer_foreign_keys = ON;")?;
    conn.execute(
        "UPDATE networks SET name = ?2 WHERE name = ?1",
        params![old, new],
    )?;
    conn.execute(
        "UPDATE network_endpoints SET network = ?2 WHERE network = ?1",
        params![old, new],
    )?;
    conn.execute(
        "UPDATE network_last_ip SET network = ?2 WHERE network = ?1",
        params![old, new],
    )?;
    Ok(())
}

/// Move `from`'s endpoints to `to` where `to` has room for them (no
/// clash of container or address), in the caller's transaction; `from`
/// goes when none are left. Whether it went.
pub fn fold_into(conn: &Connection, from: &str, to: &str) -> Result<bool, DbError> {
    conn.execute(
        "UPDATE OR IGNORE network_endpoints SET network = ?2 WHERE network = ?1",
        params![from, to],
    )?;
    if !endpoints_of_network(conn, from)?.is_empty() {
        return Ok(false);
    }
    delete(conn, from)?;
    Ok(true)
}

pub fn delete_endpoints_of_container(conn: &Connection, id: &str) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM network_endpoints WHERE container_id = ?1",
        [id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Db;

    fn ep(net: &str, id: &str, ip: &str) -> EndpointRow {
        EndpointRow {
            network: net.into(),
            container_id: id.into(),
            position: 0,
            interface: "eth0".into(),
            ip: ip.into(),
            ipv6: None,
            mac: "02:42:0a:58:00:02".into(),
            aliases: vec!["web".into()],
            root: "/r".into(),
        }
    }

    #[test]
    fn an_address_is_recorded_once_per_network() {
        let db = Db::open_in_memory().unwrap();
        let n = NetworkRow {
            name: "n1".into(),
            id: "ab".into(),
            driver: "bridge".into(),
            interface: "berth1".into(),
            created: 1,
            config: "{}".into(),
        };
        insert(&db.conn, &n).unwrap();
        insert_endpoint(&db.conn, &ep("n1", "c1", "10.89.0.2")).unwrap();
        assert!(insert_endpoint(&db.conn, &ep("n1", "c2", "10.89.0.2")).is_err());
        insert_endpoint(&db.conn, &ep("n1", "c2", "10.89.0.3")).unwrap();
        assert_eq!(endpoints_of_network(&db.conn, "n1").unwrap().len(), 2);
        assert_eq!(containers_of_root(&db.conn, "/r").unwrap().len(), 2);
        assert_eq!(
            endpoints_of_container(&db.conn, "c1").unwrap()[0].aliases,
            vec!["web"]
        );
        delete_endpoints_of_container(&db.conn, "c1").unwrap();
        assert_eq!(endpoints_of_network(&db.conn, "n1").unwrap().len(), 1);
        assert_eq!(get(&db.conn, "n1").unwrap().unwrap(), n);
        assert_eq!(all(&db.conn).unwrap().len(), 1);
        let tx = rusqlite::Transaction::new_unchecked(
            &db.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .unwrap();
        rename(&tx, "n1", "n2").unwrap();
        tx.commit().unwrap();
        assert!(get(&db.conn, "n1").unwrap().is_none());
        assert_eq!(get(&db.conn, "n2").unwrap().unwrap().id, "ab");
        assert_eq!(endpoints_of_network(&db.conn, "n2").unwrap().len(), 1);
        assert_eq!(last_ip(&db.conn, "n2", "10.89.0.0/24").unwrap(), None);
        set_last_ip(&db.conn, "n2", "10.89.0.0/24", "10.89.0.2").unwrap();
        set_last_ip(&db.conn, "n2", "10.89.0.0/24", "10.89.0.3").unwrap();
        assert_eq!(
            last_ip(&db.conn, "n2", "10.89.0.0/24").unwrap().as_deref(),
            Some("10.89.0.3")
        );
    }
}
