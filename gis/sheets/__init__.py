"""Reference-data sheets (网格员名单, 小区信息, 责任公示牌, 服务资源台账 …): Excel/CSV templates with Chinese headers,
checked imports (every row, errors by row and column, nothing written unless every row passes, a dry-run
preview first) and exports in the same layout, so that re-importing an export changes nothing.

- `columns`: the column kinds (text, number, choice, phone, list …): how a cell is read, checked and written;
- `hours`: opening hours as written in a 台账 (周一至周五 08:30-17:30；周六 09:00-12:00) → the `hours` JSON;
- `files`: reading .xlsx / .csv (UTF-8 or GBK) and writing the template, export and 说明 sheet;
- `people`, `places`: the sheets themselves (users, organizations, staff; compounds, contacts, buildings,
  resources): their columns, what is in the database now, the checks that need the database, the writes;
- `engine`: preview and commit, the same for every sheet.
"""

# the order a new 街道 fills them in: units before accounts, accounts before staff, places last
ORDER = ("organizations", "users", "staff", "compounds", "contacts", "buildings", "resources")
