"""The /map page and its data endpoints (placeholder: written by the map work; the lead merges it)."""

from fastapi import APIRouter

router = APIRouter()
