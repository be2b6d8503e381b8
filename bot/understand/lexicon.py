"""The words people use: per intent, per domain, per purpose, and chit-chat.

Domain words are generated from config/catalogue (each domain's name and its departments' names,
with and without 市 and 局/委/办) and completed by the everyday words of bot.parse_domains and a
few more below; so a domain renamed in the catalogue is understood by its new name at once.
"""

from __future__ import annotations

import re

from bot.parse_domains import SYNONYMS as DOMAIN_STEP_SYNONYMS
from config.catalogue import DEPARTMENTS_BY_CODE, DOMAINS

# Intent -> (word, weight). A word found in the message adds its weight to the intent; the
# strongest intent wins. Weights of 3 mark words that name the intent outright.
INTENT_WORDS: dict[str, dict[str, int]] = {
    "report": {
        "开报告": 3, "开个报告": 3, "开一份": 3, "开份": 3, "开具": 3, "出具": 3, "打报告": 3,
        "申请报告": 3, "申请信用报告": 3, "申请一份": 3, "要一份": 2, "弄一份": 3, "办报告": 3,
        "办一份": 3, "开信用报告": 3, "开专项": 3, "出个报告": 3, "出一份": 3, "做个报告": 3,
        "生成报告": 3, "生成一份": 3, "替代证明": 2, "无违法违规证明": 2, "开证明": 3,
        "开无违规": 3, "开个证明": 3, "报告": 1, "信用报告": 1, "专项报告": 1, "上市版": 1,
        "申请": 1, "开": 1, "办": 1, "要": 1, "需要": 1, "领域": 1,
    },
    "bind": {
        "绑定": 3, "绑企业": 3, "绑公司": 3, "绑一下": 3, "解绑": 1, "关联我的企业": 3,
        "认证企业": 3, "企业认证": 3, "法人认证": 3, "授权码": 3, "经办人": 2, "法定代表人": 1,
        "添加企业": 3, "加个企业": 3, "添加公司": 3, "帮定": 3, "邦定": 3,
    },
    "objection": {
        "异议": 3, "提意义": 3, "申诉": 3, "不服": 3, "有误": 3, "不对": 2,
        "错了": 3, "搞错": 3, "写错": 3, "弄错": 3, "错误": 2, "不准确": 3, "不属实": 3,
        "更正": 3, "纠正": 3, "改正": 2, "冤枉": 3, "不是我们": 3, "不认可": 3, "有问题": 2,
        "投诉": 2, "信息有错": 3, "处罚": 1, "记录": 1, "详情查询": 3, "查询详情": 3,
        "处罚详情": 3, "有意见": 3,
    },
    "repair": {
        "信用修复": 4, "修复": 4, "移出": 3, "移除": 3, "撤下": 3, "撤掉": 3, "删掉": 3,
        "删除": 3, "消除": 3, "洗白": 3, "屏蔽": 3, "去掉": 2, "不公示": 3, "停止公示": 3,
        "提前结束公示": 3, "恢复信用": 3, "已整改": 3, "整改完": 3, "整改好": 3,
    },
    "progress": {
        "进度": 3, "进渡": 3, "到哪了": 3, "到哪一步": 3, "好了没": 3, "好了吗": 3,
        "出来了吗": 3, "出来没": 3, "怎么样了": 3, "办好了": 3, "办完了": 3, "办得怎么样": 3,
        "处理得怎么样": 3, "处理到": 3, "结果": 2, "查报告": 3, "我的报告": 3, "我的异议": 3,
        "看报告": 3, "看看报告": 3, "查看报告": 3, "查一下报告": 3, "找报告": 3, "重新发": 3,
        "再发一次": 3, "再发一遍": 3, "下载报告": 3, "报告在哪": 3, "还没收到": 3, "没收到": 3,
        "收不到": 3, "审核": 2, "受理了吗": 3, "多久能好": 3, "之前申请": 3, "刚才申请": 3,
        "前几天申请": 3, "上次申请": 3, "查询进展": 3, "进展": 3,
    },
    "verify": {
        "验证": 3, "核验": 3, "验真": 3, "真伪": 3, "真假": 3, "是不是真的": 3, "真的假的": 3,
        "伪造": 3, "造假": 2, "核实报告": 3, "查验": 3, "辨别": 2, "核对报告": 3, "扫码": 1,
        "核验码": 3,
    },
    "help": {
        "帮助": 3, "菜单": 3, "能做什么": 3, "能干什么": 3, "能办什么": 3, "有什么功能": 3,
        "怎么用": 3, "使用说明": 3, "功能": 2, "人工": 2, "客服": 2, "你好": 3, "您好": 3,
        "在吗": 3, "在不在": 3, "有人吗": 3, "哈喽": 3, "嗨": 3, "早上好": 3, "下午好": 3,
        "晚上好": 3, "服务": 1, "不会用": 3, "看不懂": 3, "教我": 3, "怎么办理": 2,
    },
    "cancel": {
        "取消": 4, "不办了": 4, "不要了": 4, "算了": 4, "退出": 4, "结束": 2, "不弄了": 4,
        "不想办了": 4, "先不办": 4, "不用了": 4, "放弃": 4, "停止": 2, "撤回": 2, "重来": 3,
        "重新开始": 3,
    },
}  # fmt: skip

# Words that make a message a question about the service rather than a request to do something.
QUESTION_WORDS = (
    "吗", "么", "呢", "?", "？", "多少", "多久", "几天", "几个", "哪些", "哪里", "哪儿", "怎么",
    "如何", "什么", "是否", "能不能", "可不可以", "可以不", "有没有", "是不是", "谁", "为啥",
    "为什么", "咋", "几年", "哪个", "多长",
)  # fmt: skip

# Word -> the purpose's value (services.reports.requests.PURPOSE_CHOICES).
PURPOSE_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("上市", "ipo", "挂牌", "新三板", "北交所", "科创板", "创业板", "主板", "港股", "首发",
         "申报上市"),
        "listing",
    ),
    **dict.fromkeys(
        ("再融资", "融资", "定增", "增发", "配股", "可转债"), "refinancing"
    ),
    **dict.fromkeys(("并购", "重组", "收购", "兼并", "借壳", "资产重组"), "merger"),
    **dict.fromkeys(
        ("发债", "债券", "发行债券", "公司债", "企业债", "中期票据", "短融", "债务融资工具"),
        "bond",
    ),
}  # fmt: skip

ALL_DOMAINS_WORDS = (
    "全部领域", "所有领域", "全部40个", "所有40个", "40个领域", "四十个领域", "全领域",
    "全部的领域", "所有的领域", "全部都要", "全都要", "全部都查", "都查一下",
)  # fmt: skip

# More everyday words for domains than the domain step's table, for whole sentences.
_MORE_DOMAIN_WORDS: dict[str, int] = {
    "生态": 15, "环评": 15, "排污": 15, "环保局": 15, "生态环境": 15, "社会保险": 13,
    "欠缴社保": 13, "人社局": 13, "税务": 37, "税务局": 37, "税收": 37, "偷税": 37, "逃税": 37,
    "市场监管": 27, "市监": 27, "工商局": 27, "消防安全": 40, "住建": 16, "住建委": 16,
    "工程": 16, "规划": 14, "自然资源": 14, "土地": 14, "医疗保障": 30,
    "卫生": 23, "教育": 7, "科技": 8, "档案": 2, "出版": 3, "新闻出版": 3, "电影": 4,
    "应急": 25, "审计": 26, "体育": 28, "统计": 29, "林业": 32, "药监": 33, "知识产权": 34,
    "执行": 35, "被执行人": 35, "住房公积金": 36, "民政": 11, "社会组织": 11, "司法行政": 12,
    "退役军人": 24, "国防动员": 31, "人防": 31, "商务": 21, "文化": 22, "农业农村": 20,
    "水资源": 19, "城市管理": 17, "交通运输": 18, "网络": 1, "地方金融": 5, "小贷": 5,
    "金融管理": 38, "人民银行": 38, "人行": 38, "金融监管": 38, "电信监管": 39,
}  # fmt: skip


def _department_words(name: str) -> list[str]:
    """市生态环境局 -> 市生态环境局, 生态环境局, 生态环境."""
    name = re.sub(r"（.*?）", "", name)
    short = name.removeprefix("重庆").removeprefix("市")
    words = [name, short]
    if len(short) > 3:
        words.append(re.sub(r"(局|委|办|中心|分行|分局)$", "", short))
    return words


def _domain_words() -> dict[str, tuple[int, ...]]:
    """Word -> the domains it names (several for a word such as 金融, which the dialog asks about).

    A department names the domain it leads (市市场监管局: 27, not 33 or 34, where it assists).
    """
    found: dict[str, set[int]] = {}

    def add(word: str, number: int) -> None:
        if len(word) >= 2:
            found.setdefault(word, set()).add(number)

    for spec in DOMAINS:
        add(spec.name, spec.number)
        for part in re.split(r"[、和及]", spec.name):
            add(part, spec.number)
    leads = {spec.lead_department_code for spec in DOMAINS}
    for spec in DOMAINS:
        for code in spec.department_codes:
            if code == spec.lead_department_code or code not in leads:
                for word in _department_words(DEPARTMENTS_BY_CODE[code].name):
                    add(word, spec.number)
    for word, numbers in DOMAIN_STEP_SYNONYMS.items():
        for number in numbers:
            add(word, number)
    for word, number in _MORE_DOMAIN_WORDS.items():
        add(word, number)
    return {word: tuple(sorted(numbers)) for word, numbers in found.items()}


DOMAIN_WORDS = _domain_words()

CHITCHAT_WORDS = (
    "天气", "下雨", "吃饭", "吃了吗", "笑话", "你是谁", "你叫什么", "机器人吗", "几点了", "谢谢",
    "多谢", "辛苦", "拜拜", "再见", "晚安", "哈哈", "好无聊", "聊天", "唱歌", "讲个故事", "火锅",
    "股票", "彩票", "房价", "喜欢你", "爱你", "单身", "睡觉", "电影票", "外卖", "星座", "笨", "傻",
)  # fmt: skip
