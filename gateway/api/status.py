"""`GET /api/v2/status`: the replica's status record.

Spec: IC interface spec 0.66.0, HTTPS interface › Overview › Status (`root_key` must be
present on development instances); the other fields follow the IC replica (impl).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gateway.api.common import subnet_of
from gateway.cbor_response import CborResponse
from gateway.seam import SubnetSeam

__all__ = ["IC_API_VERSION", "router", "status"]

IC_API_VERSION = "0.18.0"
"""(impl) The `ic_api_version` the IC replica reports."""

router = APIRouter()


@router.get("/api/v2/status")
def status(subnet: SubnetSeam = Depends(subnet_of)) -> CborResponse:
    """CBOR map: `ic_api_version`, `root_key`, `impl_version`, `replica_health_status`,
    `certified_height`."""
    st = subnet.status()
    return CborResponse(
        {
            "ic_api_version": IC_API_VERSION,
            "root_key": st.root_key,
            "impl_version": st.impl_version,
            "replica_health_status": st.replica_health_status,
            "certified_height": st.certified_height,
        }
    )
