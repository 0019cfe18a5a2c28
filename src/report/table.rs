//! Text laid out in columns by display width (a CJK character takes two terminal columns),
//! for `status` and `plan`: the columns line up in both languages.

use unicode_width::UnicodeWidthStr;

/// How many terminal columns `s` takes.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` padded with spaces to `cols` terminal columns.
pub fn pad(s: &str, cols: usize) -> String {
    format!("{s}{}", " ".repeat(cols.saturating_sub(width(s))))
}

/// Rows of cells as lines: each column as wide as its widest cell, `gap` spaces between, the
/// last column unpadded; `indent` before every line.
pub fn columns(rows: &[Vec<String>], indent: &str, gap: usize) -> Vec<String> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = indent.to_string();
            for (i, cell) in r.iter().enumerate() {
                if i + 1 == r.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&pad(cell, widths[i] + gap));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_headers_line_up_with_ascii_cells() {
        let rows = vec![
            vec!["服務".to_string(), "狀態".to_string(), "x".to_string()],
            vec!["prometheus".to_string(), "running".to_string(), "y".to_string()],
        ];
        let lines = columns(&rows, "  ", 2);
        let col = |l: &str, c: char| width(&l[..l.find(c).expect("cell")]);
        assert_eq!(col(&lines[0], 'x'), col(&lines[1], 'y'), "{lines:?}");
        assert_eq!(width("服務"), 4);
        assert_eq!(pad("建立", 6), "建立  ");
    }
}
