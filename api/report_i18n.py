"""The report's words in Simplified Chinese (the default) and English.

One table per language, the same keys in each (a test checks it): the template and the
report builder look every visible word up here, so a report never mixes languages.
"""

from __future__ import annotations

from collections.abc import Mapping

from custody.errors import UsageError

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

_ZH: dict[str, str] = {
    "title_item": "证据保管链报告:物品 {id}",
    "title_case": "证据保管链报告:案件 {id}",
    "station": "单位(站点)",
    "origin": "日志标识(origin)",
    "generated": "生成时间",
    "requested_by": "申请人",
    "role_as": "查阅身份",
    "zone": "时区",
    "ledger_size": "生成时账本条目数",
    "checkpoint": "所用签名检查点",
    "checkpoint_none": "尚无签名检查点",
    "tree_size": "树大小 {n}",
    "uncovered": "{n} 条记录晚于最新签名检查点(暂无证明)",
    "case": "案件信息",
    "case_id": "案件编号",
    "case_title": "案由",
    "lead_officer": "主办民警",
    "officers": "办案民警",
    "registered": "登记时间",
    "complainant": "报案人",
    "complainant_contact": "报案人联系方式",
    "redacted": "〔按查阅权限隐去〕",
    "manifest": "涉案财物清单",
    "label": "标签编号",
    "kind": "类别",
    "category": "分类",
    "description": "名称/描述",
    "quantity": "数量",
    "seized_from": "扣押自",
    "seized_at": "扣押时间",
    "seizing_officer": "扣押民警",
    "state": "当前状态",
    "place": "位置",
    "transfers": "保管交接记录",
    "col_seq": "序号",
    "col_time": "时间",
    "col_from": "交出方",
    "col_to": "接收方",
    "col_purpose": "事由",
    "col_place": "地点(格口)",
    "col_items": "物品",
    "col_photos": "照片",
    "events": "其他记录(通知、告警、报告、标签)",
    "col_kind": "类型",
    "col_actor": "操作人",
    "col_summary": "内容",
    "photos": "交接照片",
    "photo_missing": "照片库中缺少此照片",
    "photo_mismatch": "照片库中的文件与其哈希不符",
    "people": "报告涉及人员",
    "person_name": "姓名",
    "person_role": "职务",
    "person_id": "编号",
    "person_phone": "电话",
    "proof": "证明材料(离线核验)",
    "proof_intro": "以下材料无需依赖本站计算机即可核验。本报告的 PDF 文件内嵌附件:每一步的 "
                   "tlog-proof 证明、签名检查点、站点验证公钥和报告数据 report.json。",
    "proof_step1": "用站点验证公钥核验签名检查点(C2SP signed-note,Ed25519)。"
                   "公钥应与本站另行公布的公钥一致。",
    "proof_step2": "每一步的包含证明是 C2SP tlog-proof@v1 文本:"
                   "extra 行为该条记录原始字节的 base64,index 为序号;"
                   "按 RFC 6962 计算叶哈希并沿证明折叠,结果应等于检查点中的根哈希。",
    "proof_step3": "解码记录字节(RFC 8785 规范 JSON),"
                   "其中载有时间、类型、操作人、格口及每张照片的 SHA-256。",
    "proof_step4": "一条命令完成以上全部核验:"
                   "locker audit verify-proof --pdf 本报告.pdf --key 站点公钥;"
                   "单个证明:locker audit verify-proof 证明文件 --key 站点公钥。",
    "proof_step5": "报告哈希:report.json 附件的 SHA-256(pdfdetach -save 取出后 sha256sum),"
                   "应等于末页所印哈希,"
                   "且本站账本中有一条 report.issued 记录载有同一哈希。",
    "vkey": "站点验证公钥",
    "checkpoint_note": "签名检查点",
    "entries": "本报告涉及的账本记录",
    "col_leaf": "叶哈希(前16位)",
    "no_proof": "晚于最新签名检查点,暂无证明",
    "withheld": "证明未附:该记录含有本查阅身份无权查看的联系方式(审计员版本附有)",
    "withheld_count": "{n} 条证明因含联系方式而未附",
    "proofs": "逐条包含证明",
    "report_hash": "本报告哈希(SHA-256,report.json)",
    "report_hash_note": "此哈希已作为 report.issued 记录写入本站账本。",
    "html_note": "屏幕预览,不是正式出具的报告:正式报告为 PDF(带报告哈希与附件)。",
    "page": "第 {x} 页 / 共 {y} 页",
    "none": "无",
    "yes": "是",
    "no": "否",
    "late": "逾期归还",
    "due": "应还时间",
    "missing": "缺少",
    "extra": "多出",
    "reason": "说明",
    "approved_by": "批准人",
    "reference": "文号",
    "disposal": "处置方式",
    "centre": "保管中心",
    "outside_unknown": "(未登记)",
    "role_officer": "民警",
    "role_clerk": "保管员",
    "role_supervisor": "主管领导",
    "role_legal": "法制部门",
    "role_auditor": "审计员",
    "role_system": "系统",
    "purpose_seizure": "扣押登记",
    "purpose_handover": "移交入库",
    "purpose_storage": "存入格口",
    "purpose_check_out": "调取出库",
    "purpose_return": "归还",
    "purpose_disposal": "处置",
    "purpose_leave": "出库",
    "purpose_leave_return": "临时出库归还",
    "leave": "出库类型",
    "recipient_id": "接收人身份证号",
    "second_clerk": "第二保管员",
    "kind_case_file": "案卷",
    "kind_exhibit": "物证",
    "state_registered": "已登记",
    "state_handed_over": "已移交",
    "state_stored": "在库",
    "state_checked_out": "已调出",
    "state_returned": "已归还待存",
    "state_disposed": "已处置",
    "state_out_on_leave": "临时出库",
    "disposal_returned_to_owner": "发还原主",
    "disposal_to_prosecutor": "移送检察院",
    "disposal_to_court": "移送法院",
    "disposal_destroyed": "销毁",
}

_EN: dict[str, str] = {
    "title_item": "Chain of custody: item {id}",
    "title_case": "Chain of custody: case {id}",
    "station": "Station",
    "origin": "Log origin",
    "generated": "Generated",
    "requested_by": "Requested by",
    "role_as": "Read as",
    "zone": "Time zone",
    "ledger_size": "Ledger entries when generated",
    "checkpoint": "Signed checkpoint used",
    "checkpoint_none": "none signed yet",
    "tree_size": "tree size {n}",
    "uncovered": "{n} entries newer than the latest signed checkpoint (no proof yet)",
    "case": "Case",
    "case_id": "Case number",
    "case_title": "Title",
    "lead_officer": "Officer in charge",
    "officers": "Officers on the case",
    "registered": "Registered",
    "complainant": "Complainant",
    "complainant_contact": "Complainant's contact",
    "redacted": "[withheld for this reader's role]",
    "manifest": "Manifest",
    "label": "Label",
    "kind": "Kind",
    "category": "Category",
    "description": "Description",
    "quantity": "Qty",
    "seized_from": "Seized from",
    "seized_at": "Seized at",
    "seizing_officer": "Seizing officer",
    "state": "State",
    "place": "Place",
    "transfers": "Custody transfers",
    "col_seq": "#",
    "col_time": "Time",
    "col_from": "From",
    "col_to": "To",
    "col_purpose": "Purpose",
    "col_place": "Place (compartment)",
    "col_items": "Items",
    "col_photos": "Photos",
    "events": "Other entries (notices, alarms, reports, labels)",
    "col_kind": "Kind",
    "col_actor": "By",
    "col_summary": "Details",
    "photos": "Photos of the transfers",
    "photo_missing": "photo missing from the store",
    "photo_mismatch": "the stored photo does not match its hash",
    "people": "People named in this report",
    "person_name": "Name",
    "person_role": "Role",
    "person_id": "Id",
    "person_phone": "Phone",
    "proof": "Proof material (to check this report offline)",
    "proof_intro": "Nothing here needs the station's computer. The PDF carries as attachments "
                   "every step's tlog-proof, the signed checkpoint, the station's verifier key "
                   "and the report data report.json.",
    "proof_step1": "Check the signed checkpoint with the verifier key (C2SP signed-note, "
                   "Ed25519). The key must match the one the station published, obtained "
                   "independently of this report.",
    "proof_step2": "Each step's inclusion proof is a C2SP tlog-proof@v1 text: the extra line is "
                   "the base64 of the entry's exact bytes, index its sequence number. Hash the "
                   "bytes as an RFC 6962 leaf, fold in the proof hashes, and compare with the "
                   "checkpoint's root.",
    "proof_step3": "Decode the entry bytes (RFC 8785 canonical JSON): they carry the step's "
                   "time, kind, actor, compartment and the SHA-256 of every photo.",
    "proof_step4": "All of this in one command: locker audit verify-proof --pdf REPORT.pdf "
                   "--key STATION.vkey; one proof: locker audit verify-proof FILE --key "
                   "STATION.vkey.",
    "proof_step5": "The report hash is the SHA-256 of the report.json attachment (pdfdetach "
                   "-save, then sha256sum): it must equal the hash printed on the last page, "
                   "and the station's ledger holds a report.issued entry with the same hash.",
    "vkey": "Verifier key",
    "checkpoint_note": "Signed checkpoint",
    "entries": "Ledger entries in this report",
    "col_leaf": "Leaf hash (first 16 hex)",
    "no_proof": "newer than the latest signed checkpoint: no proof yet",
    "withheld": "proof not attached: the entry holds contact details this reader's role may "
                "not see (an auditor's report carries it)",
    "withheld_count": "{n} proofs not attached (their entries hold contact details)",
    "proofs": "Inclusion proofs, one per entry",
    "report_hash": "Report hash (SHA-256 of report.json)",
    "report_hash_note": "This hash is recorded in the station's ledger as a report.issued entry.",
    "html_note": "Screen preview, not an issued report: the issued report is the PDF (with "
                 "its report hash and attachments).",
    "page": "page {x} of {y}",
    "none": "none",
    "yes": "yes",
    "no": "no",
    "late": "returned late",
    "due": "due back",
    "missing": "missing",
    "extra": "extra",
    "reason": "reason",
    "approved_by": "approved by",
    "reference": "reference",
    "disposal": "disposal",
    "centre": "evidence centre",
    "outside_unknown": "(not recorded)",
    "role_officer": "officer",
    "role_clerk": "clerk",
    "role_supervisor": "supervisor",
    "role_legal": "legal section",
    "role_auditor": "auditor",
    "role_system": "system",
    "purpose_seizure": "seizure (registered)",
    "purpose_handover": "handover to the centre",
    "purpose_storage": "stored in a compartment",
    "purpose_check_out": "checked out",
    "purpose_return": "returned",
    "purpose_disposal": "disposal",
    "purpose_leave": "left custody",
    "purpose_leave_return": "back from a temporary leave",
    "leave": "kind",
    "recipient_id": "recipient's ID number",
    "second_clerk": "second clerk",
    "kind_case_file": "case file",
    "kind_exhibit": "exhibit",
    "state_registered": "registered",
    "state_handed_over": "handed over",
    "state_stored": "stored",
    "state_checked_out": "checked out",
    "state_returned": "returned, awaiting storage",
    "state_disposed": "disposed",
    "state_out_on_leave": "out for a while (due back)",
    "disposal_returned_to_owner": "returned to its owner",
    "disposal_to_prosecutor": "sent to the prosecutor",
    "disposal_to_court": "sent to the court",
    "disposal_destroyed": "destroyed",
}

TEXTS: Mapping[str, Mapping[str, str]] = {"zh": _ZH, "en": _EN}


def check_language(lang: str) -> str:
    """``lang`` if it is a report language; a :class:`UsageError` naming the valid ones."""
    if lang not in TEXTS:
        raise UsageError(f"unknown report language {lang!r}: expected {' or '.join(LANGUAGES)}")
    return lang


def words(lang: str) -> Mapping[str, str]:
    """The words of one language."""
    return TEXTS[check_language(lang)]


def word(texts: Mapping[str, str], key: str, fallback: str) -> str:
    """``texts[key]``, or ``fallback`` for a value the tables do not know (a new kind)."""
    return texts.get(key, fallback)
