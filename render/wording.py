"""Fixed wording printed on every report, quoted from 渝府办发〔2024〕89号 where it can be.

A test checks that each quote is verbatim in the policy text, so an edit here cannot drift from it.
"""

from __future__ import annotations

TITLE = "专项信用报告（上市版）"
POLICY_NO = "渝府办发〔2024〕89号"
POLICY_TITLE = "《重庆市推行以专项信用报告（上市版）替代企业有无违法违规证明的实施方案》"

# 二、适用范围, first paragraph: what counts as 违法违规信息.
SCOPE_QUOTE = (
    "本实施方案所称的违法违规信息，指本市行政机关、法律法规授权的具有管理公共事务职能的组织、"
    "有关在渝中央垂直管理单位、有关司法机关（以下统称出证机关）等对企业在我市 40 个行业领域内"
    "违反法律、法规、规章行为，作出行政处罚（普通程序）、司法判决、刑事处罚、行政强制执行、"
    "列入严重失信主体名单、列入经营异常名录等措施的客观记载。"
)

# 二、适用范围, second paragraph: what the report is for, and its limit.
USE_QUOTE = (
    "本实施方案所称的专项信用报告（上市版），用作企业及其关联企业进行上市、挂牌、再融资、"
    "并购重组、债券发行等活动时的信用信息参考依据。专项信用报告（上市版）暂不能替代的证明事项，"
    "依照相关法律法规办理。"
)

# 四、（三）: where objections go.
OBJECTION_QUOTE = (
    "企业对专项信用报告（上市版）相关信息有异议，对信息更正、更新、修复及违法违规行为详情查询等"
    "有诉求，可在“信用中国（重庆）”网站提出申请，相关责任部门及时对接、处理。"
)

# The fixed notes; the report adds the legend of stale domains where it has one, the rule set it
# was issued under, and where objections go (ReportView.notes).
NOTES = (
    "本报告依据" + POLICY_NO + POLICY_TITLE + "出具，所载信息来源于各出证机关推送至市公共信用"
    "信息平台的数据，按照“谁生成谁提供、谁提供谁负责”原则由出证机关负责其真实性、准确性。",
    "“未查见”指截至所列“数据截至”日期，出证机关报送的数据中未查见该企业在报告期内的相关信息；"
    "“暂无数据”指出证机关尚未报送该领域数据，本报告对该领域不作结论，二者含义不同。",
    "已修复的信息仍予列示，并标注“已修复”状态；已撤销的信息不予列示。",
    "本报告经电子签章，任何修改均会使签章失效。可扫描二维码或访问核验地址，输入报告编号与核验码，"
    "核验本报告真伪及出具后数据是否更新。",
)

# A domain whose data reach only part of the span (数据截至 before the span's end).
STALE_CLEAR = "经查询，截至{as_of}未查见该领域报告期内违法违规信息；此后信息尚未归集"
STALE_FOUND = "查见违法违规信息 {n} 条（见明细）；数据截至{as_of}，此后信息尚未归集"
STALE_TAIL = "；此后信息尚未归集"
STALE_LEGEND = (
    "“截至某日……；此后信息尚未归集”指出证机关报送的该领域数据只到所列日期（早于报告期末或出具日）："
    "本报告只对该日期以前的数据作出结论，此后的信息尚未归集，不作结论。"
)

# 欠缴情况, answered on the issue date, for the annex's "有无欠缴……情形".
ARREARS_CLEAR = "欠缴情况：截至{on}未查见欠缴{subject}情形"
ARREARS_OWED = "欠缴情况：截至{on}查见尚未缴清的欠缴{subject}信息 {n} 条（见明细）"
ARREARS_PAID = "报告期内另有欠缴信息 {n} 条，已于出具前缴清（见明细）"
ARREARS_ON_ISSUE_DATE = "出具日（{day}）"

RULE_SET_NOTE = "本报告适用报告规则 {name}（第{version}版，依据{basis}）：{summary}"

# 四、（三） names the channel where objections go; this deployment names those it serves.
OBJECTION_NOTE = (
    "企业对本报告相关信息有异议，对信息更正、更新、修复及违法违规行为详情查询等有诉求，可通过{channels}"
    "提出申请，相关责任部门及时对接、处理（{policy}四、（三））。"
)
