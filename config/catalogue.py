"""The 40 domains (实施领域) of the annex to 渝府办发〔2024〕89号, and their departments (出证机关).

This is the single source of truth: the database rows are synced from it, and a test compares it
row by row with the annex text in the policy file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The data starts here: departments push records "自2020年1月1日以来".
EARLIEST_DATE = date(2020, 1, 1)


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str


@dataclass(frozen=True)
class DomainSpec:
    number: int
    name: str
    check_text: str  # 核查事项, verbatim from the annex
    department_codes: tuple[str, ...]  # the first one leads (牵头), e.g. for objection routing
    checks_arrears: bool = False  # 欠缴: printed as a line of its own in the report

    @property
    def lead_department_code(self) -> str:
        return self.department_codes[0]


DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("cac", "市委网信办"),
    DepartmentSpec("archives", "市档案局"),
    DepartmentSpec("press", "市新闻出版局（市版权局）"),
    DepartmentSpec("film", "市电影局"),
    DepartmentSpec("finance_local", "市地方金融局"),
    DepartmentSpec("ndrc", "市发展改革委"),
    DepartmentSpec("education", "市教委"),
    DepartmentSpec("science", "市科技局"),
    DepartmentSpec("industry", "市经济信息委"),
    DepartmentSpec("police", "市公安局"),
    DepartmentSpec("civil_affairs", "市民政局"),
    DepartmentSpec("justice", "市司法局"),
    DepartmentSpec("hrss", "市人力社保局"),
    DepartmentSpec("planning", "市规划自然资源局"),
    DepartmentSpec("ecology", "市生态环境局"),
    DepartmentSpec("housing", "市住房城乡建委"),
    DepartmentSpec("urban", "市城市管理局"),
    DepartmentSpec("transport", "市交通运输委"),
    DepartmentSpec("water", "市水利局"),
    DepartmentSpec("agriculture", "市农业农村委"),
    DepartmentSpec("commerce", "市商务委"),
    DepartmentSpec("culture", "市文化旅游委"),
    DepartmentSpec("health", "市卫生健康委"),
    DepartmentSpec("veterans", "市退役军人事务局"),
    DepartmentSpec("emergency", "市应急管理局"),
    DepartmentSpec("audit", "市审计局"),
    DepartmentSpec("samr", "市市场监管局"),
    DepartmentSpec("sport", "市体育局"),
    DepartmentSpec("stats", "市统计局"),
    DepartmentSpec("medical_insurance", "市医保局"),
    DepartmentSpec("defense_mobilization", "市国防动员办"),
    DepartmentSpec("forestry", "市林业局"),
    DepartmentSpec("drugs", "市药监局"),
    DepartmentSpec("ip", "市知识产权局"),
    DepartmentSpec("court", "市高法院"),
    DepartmentSpec("housing_fund", "市住房公积金管理中心"),
    DepartmentSpec("tax", "重庆市税务局"),
    DepartmentSpec("pbc", "人行重庆市分行"),
    DepartmentSpec("safe", "外汇局重庆市分局"),
    DepartmentSpec("nfra", "重庆金融监管局"),
    DepartmentSpec("telecom", "重庆通信管理局"),
    DepartmentSpec("fire", "市消防救援局"),
)

_NO_VIOLATION = "领域有无违法违规信息"

DOMAINS: tuple[DomainSpec, ...] = (
    DomainSpec(1, "网络信用", "网络信用" + _NO_VIOLATION, ("cac",)),
    DomainSpec(2, "档案管理", "档案管理" + _NO_VIOLATION, ("archives",)),
    DomainSpec(3, "新闻出版", "新闻出版" + _NO_VIOLATION, ("press",)),
    DomainSpec(4, "电影", "电影" + _NO_VIOLATION, ("film",)),
    DomainSpec(5, "地方金融监管", "地方金融监管" + _NO_VIOLATION, ("finance_local",)),
    DomainSpec(6, "基本建设投资", "基本建设投资" + _NO_VIOLATION, ("ndrc",)),
    DomainSpec(7, "教育", "教育" + _NO_VIOLATION, ("education",)),
    DomainSpec(8, "科技", "科技" + _NO_VIOLATION, ("science",)),
    DomainSpec(9, "工业和信息化", "工业和信息化" + _NO_VIOLATION, ("industry",)),
    DomainSpec(10, "社会治安管理", "社会治安管理" + _NO_VIOLATION, ("police",)),
    DomainSpec(11, "民政和社会组织", "民政和社会组织" + _NO_VIOLATION, ("civil_affairs",)),
    DomainSpec(12, "司法行政", "司法行政" + _NO_VIOLATION, ("justice",)),
    DomainSpec(
        13,
        "人力资源和社会保障",
        "人力资源和社会保障" + _NO_VIOLATION + "，有无欠缴社保费用情形",
        ("hrss",),
        checks_arrears=True,
    ),
    DomainSpec(14, "规划及自然资源", "规划及自然资源" + _NO_VIOLATION, ("planning",)),
    DomainSpec(15, "生态环境保护", "生态环境保护" + _NO_VIOLATION, ("ecology",)),
    DomainSpec(16, "住房、工程建设", "住房、工程建设" + _NO_VIOLATION, ("housing",)),
    DomainSpec(17, "城市管理", "城市管理" + _NO_VIOLATION, ("urban",)),
    DomainSpec(18, "交通运输", "交通运输" + _NO_VIOLATION, ("transport",)),
    DomainSpec(19, "水资源保护", "水资源保护" + _NO_VIOLATION, ("water",)),
    DomainSpec(20, "农业农村", "农业农村" + _NO_VIOLATION, ("agriculture",)),
    DomainSpec(21, "商务", "商务" + _NO_VIOLATION, ("commerce",)),
    DomainSpec(22, "文化和旅游市场", "文化和旅游市场" + _NO_VIOLATION, ("culture",)),
    DomainSpec(23, "卫生健康", "卫生健康" + _NO_VIOLATION, ("health",)),
    DomainSpec(24, "退役军人事务管理", "退役军人事务管理" + _NO_VIOLATION, ("veterans",)),
    DomainSpec(25, "应急管理", "应急管理" + _NO_VIOLATION, ("emergency",)),
    DomainSpec(26, "审计", "审计" + _NO_VIOLATION, ("audit",)),
    DomainSpec(27, "市场监管", "市场监管" + _NO_VIOLATION, ("samr",)),
    DomainSpec(28, "体育", "体育" + _NO_VIOLATION, ("sport",)),
    DomainSpec(29, "统计", "统计" + _NO_VIOLATION, ("stats",)),
    DomainSpec(
        30,
        "医疗保障",
        "医疗保障" + _NO_VIOLATION + "，有无欠缴社保费用情形",
        ("medical_insurance",),
        checks_arrears=True,
    ),
    DomainSpec(31, "国防动员", "国防动员" + _NO_VIOLATION, ("defense_mobilization",)),
    DomainSpec(32, "林业", "林业" + _NO_VIOLATION, ("forestry",)),
    DomainSpec(33, "药品监管", "药品监管" + _NO_VIOLATION, ("drugs", "samr")),
    DomainSpec(34, "知识产权", "知识产权" + _NO_VIOLATION, ("ip", "samr")),
    DomainSpec(35, "法院执行", "法院执行" + _NO_VIOLATION, ("court",)),
    DomainSpec(
        36,
        "住房公积金",
        "住房公积金领域有无欠缴及违法违规信息",
        ("housing_fund",),
        checks_arrears=True,
    ),
    DomainSpec(
        37,
        "税务",
        "税务" + _NO_VIOLATION + "，有无欠缴社保费用、税费等情形",
        ("tax",),
        checks_arrears=True,
    ),
    DomainSpec(38, "金融管理", "金融管理" + _NO_VIOLATION, ("pbc", "safe", "nfra")),
    DomainSpec(39, "电信监管", "电信监管" + _NO_VIOLATION, ("telecom",)),
    DomainSpec(40, "消防安全", "消防安全" + _NO_VIOLATION, ("fire",)),
)

DOMAINS_BY_NUMBER: dict[int, DomainSpec] = {d.number: d for d in DOMAINS}
DEPARTMENTS_BY_CODE: dict[str, DepartmentSpec] = {d.code: d for d in DEPARTMENTS}


def domains_of_department(code: str) -> tuple[int, ...]:
    """The domain numbers a department may push records for."""
    return tuple(d.number for d in DOMAINS if code in d.department_codes)


def department_names(domain: DomainSpec) -> str:
    """The responsible departments as the annex prints them, joined by 、."""
    return "、".join(DEPARTMENTS_BY_CODE[c].name for c in domain.department_codes)
