"""Long-term validation of the seal (ETSI EN 319 102-1 § 5.6.3, PAdES B-LTA), with pyHanko.

`validate_archival(pdf, root_pem, crls, at)` asks what a validator at moment `at` concludes, using
the timestamps and validation data in the file plus the CRLs it would fetch then (`crls`, e.g. the
CA's CRL as of `at`). Past the seal certificate's expiry, or after its revocation, a report still
validates when its signature timestamp proves it was signed while the certificate was good.
Nothing is fetched. Synchronous: call it off the event loop.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from render.seal import SEAL_FIELD, one_cert


@dataclass(frozen=True)
class ArchivalCheck:
    valid: bool
    indication: str  # pyHanko's AdES (sub)indication, e.g. "AdESPassed.OK"
    proven_at: datetime | None  # the oldest document timestamp: existence proven since then

    def __bool__(self) -> bool:
        return self.valid


def validate_archival(
    pdf: bytes, root_pem: bytes, crls: Sequence[bytes] = (), at: datetime | None = None
) -> ArchivalCheck:
    return asyncio.run(_validate(pdf, root_pem, crls, at or datetime.now(UTC)))


async def _validate(
    pdf: bytes, root_pem: bytes, crls: Sequence[bytes], at: datetime
) -> ArchivalCheck:
    from asn1crypto import crl as asn1_crl
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import policy_decl as p
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager
    from pyhanko_certvalidator.revinfo.archival import CRLContainer

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    seals = [s for s in reader.embedded_signatures if s.field_name == SEAL_FIELD]
    if not seals:
        return ArchivalCheck(False, "未找到电子签章", None)
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[one_cert(root_pem)]),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
    )
    known = [CRLContainer(asn1_crl.CertificateList.load(der)) for der in crls]
    spec = p.PdfSignatureValidationSpec(
        p.SignatureValidationSpec(
            cert_validation_policy=policy,
            local_knowledge=p.LocalKnowledge(known_crls=known),
            revinfo_gathering_policy=p.RevocationInfoGatheringSpec(
                online_fetching_rule=p.RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    timing = ValidationTimingInfo(
        validation_time=at, best_signature_time=at, point_in_time_validation=False
    )
    result = await ades_lta_validation(seals[-1], spec, timing)
    valid = bool(result.api_status and result.api_status.bottom_line)
    return ArchivalCheck(valid, str(result.ades_subindic), result.oldest_evidence_record_timestamp)
