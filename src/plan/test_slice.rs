//! The SQL of a data test run on new rows only (`test-scope: changed`)
//! where the plain slice would still read a whole table.

use crate::nodes::Relationship;

/// A `relationships` test of `child` (the tested relation's new rows)
/// that looks each key up in `recent` (some of the parent's rows: those
/// written since the test last ran) first, and only the keys not found
/// there in the whole parent. The failing rows are those of
/// [`test_sql`]; the whole parent is read only when some key is not in
/// `recent`, since DuckDB skips a join's other side when its build side
/// (here the keys left) is empty.
pub fn relationship_in_two_steps(r: &Relationship, child: &str, recent: &str) -> String {
    let Relationship {
        column,
        parent,
        field,
    } = r;
    format!(
        "with candidates as materialized (\n    \
         select child.{column} as from_field\n    \
         from {child} as child\n    \
         left join {recent} as parent on child.{column} = parent.{field}\n    \
         where child.{column} is not null and parent.{field} is null\n)\n\
         select from_field\nfrom candidates\n\
         where from_field not in (\n    \
         select {field} from {parent} where {field} in (select from_field from candidates)\n)\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_not_in_the_recent_rows_are_looked_up_in_the_whole_parent() {
        let r = Relationship {
            column: "click_id".into(),
            parent: "lake.raw.browser_events".into(),
            field: "click_id".into(),
        };
        insta::assert_snapshot!(relationship_in_two_steps(&r, "(NEW CHILD)", "(NEW PARENT)"), @r"
        with candidates as materialized (
            select child.click_id as from_field
            from (NEW CHILD) as child
            left join (NEW PARENT) as parent on child.click_id = parent.click_id
            where child.click_id is not null and parent.click_id is null
        )
        select from_field
        from candidates
        where from_field not in (
            select click_id from lake.raw.browser_events where click_id in (select from_field from candidates)
        )
        ");
    }
}
