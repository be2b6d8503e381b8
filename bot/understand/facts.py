"""The project's own facts, written from the catalogue and settings so that they cannot drift.

Each fact is a short answer, the words people ask it with, and the section of the policy it rests
on (渝府办发〔2024〕89号); a test checks that every cited section exists in the policy text.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.catalogue import DOMAINS, EARLIEST_DATE
from config.settings import Settings
from services.reports.span import DEFAULT_YEARS


@dataclass(frozen=True)
class Fact:
    key: str
    section: str  # of the policy, as it numbers them: 三、(一)
    text: str
    topics: tuple[str, ...]  # words that ask for it


def facts(settings: Settings) -> list[Fact]:
    # The services below import the ORM: loaded when the facts are written, at warm().
    from services.ingest.quality import LATE_AFTER_WORKING_DAYS
    from services.objections.views import KIND_CHOICES
    from services.reports.requests import CHANNEL_LABELS, PURPOSE_CHOICES, RELATION_LABELS

    channel = dict(CHANNEL_LABELS)
    web, mp, hall, terminal = (channel[c] for c in ("web", "miniprogram", "hall", "terminal"))
    kinds = "、".join(label for _, label in KIND_CHOICES)
    purposes = "、".join(label for _, label in PURPOSE_CHOICES)
    relations = "、".join(RELATION_LABELS)

    earliest = f"{EARLIEST_DATE.year}年{EARLIEST_DATE.month}月{EARLIEST_DATE.day}日"
    examples = "、".join(d.name for d in DOMAINS if d.number in (15, 27, 37))
    return [
        Fact("fee", "三、(三)",
             "专项信用报告（上市版）免费提供，线上线下查询、下载、打印均不收费。",
             ("钱", "要钱", "多少钱", "收费", "费用", "免费", "付费", "价格", "花钱", "交钱",
              "成本", "贵")),
        Fact("data_from", "三、(一)",
             f"报告收录企业自{earliest}以来的违法违规信息；时间跨度由企业自主选择，默认近"
             f"{DEFAULT_YEARS}年，最早从{earliest}起。",
             ("哪年", "最早", "多早", "起始", "2020", "时间跨度", "年限", "几年", "以前",
              "之前的", "历史", "多久以前", "从什么时候")),
        Fact("domains", "附件",
             f"报告覆盖{len(DOMAINS)}个行业领域（如{examples}），可选择全部或其中几个领域；"
             "申请时回复“领域”可查看清单。",
             ("领域", "行业", "覆盖", "范围", "包括哪些", "哪些部门", "几个部门", "多少个部门")),
        Fact("update", "三、(一)",
             f"新发生的信息由出证机关在{LATE_AFTER_WORKING_DAYS}个工作日内完成更新推送、共享；"
             "报告出具后数据如有更新，核验时会提示。",
             ("更新", "同步", "及时", "最新", "实时", "推送", "新的处罚", "刚被处罚", "上传")),
        Fact("objection_due", "四、(三)",
             f"对报告信息有异议，可申请{kinds}：{settings.objection_accept_days}"
             f"个工作日内受理，受理后{settings.objection_resolve_days}个工作日内办结，信用修复"
             f"{settings.objection_repair_days}个工作日内办结。回复“异议”即可提出。",
             ("受理", "办结", "时限", "期限", "处理时间", "处理多久", "多久处理", "几天处理",
              "多久能处理", "要多久", "多久有结果", "几个工作日", "多长时间")),
        Fact("channels", "三、(三)",
             f"线上可通过{web}、“科创资本通”网站、{mp}"
             f"和本公众号办理；线下可到{hall}或{terminal}办理。",
             ("哪里办", "在哪", "哪里", "哪儿", "渠道", "线下", "窗口", "网站", "小程序", "大厅",
              "自助终端", "线上", "去哪", "渝快办", "现场", "办理方式", "途径")),
        Fact("related", "二",
             f"报告可包含关联企业（{relations}），用于企业及其关联企业的上市等活动；"
             "关联企业须由其法定代表人绑定或授权后才能纳入报告。",
             ("关联企业", "子公司", "分公司", "母公司", "控股股东", "集团", "分支机构", "下属")),
        Fact("responsible", "四、(二)",
             "数据按照“谁生成谁提供、谁提供谁负责”的原则，由各出证机关负责其真实、准确、及时；"
             "信息有误可回复“异议”申请更正。",
             ("谁负责", "负责", "责任", "数据来源", "哪来", "准不准", "准确", "谁提供", "出证机关",
              "责任部门", "来源")),
        Fact("use", "二",
             f"专项信用报告（上市版）替代企业有无违法违规证明，用于{purposes}等"
             "活动的信用信息参考；暂不能替代的证明事项依照相关法律法规办理。",
             ("用途", "作用", "替代", "代替", "有什么用", "能用来", "用来干", "可以用来", "用来",
              "干什么用", "无违法违规证明", "合规证明", "证明")),
        Fact("contents", "二",
             "违法违规信息指出证机关对企业作出行政处罚（普通程序）、司法判决、刑事处罚、行政强制"
             "执行、列入严重失信主体名单、列入经营异常名录等措施的客观记载。",
             ("哪些信息", "什么信息", "包含什么", "内容", "简易程序", "经营异常", "失信",
              "哪些处罚", "什么处罚", "写了什么", "会显示")),
        Fact("start", "一",
             "自2024年12月1日起推行，2024年12月1—31日为试行期，2025年1月1日起全面推行。",
             ("什么时候开始", "哪天开始", "试行", "全面推行", "何时", "上线", "启动", "开始实行")),
    ]  # fmt: skip
