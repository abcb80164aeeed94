from django.urls import path

from bench.floor import CodeRequestFloor, LookupView, OpenView, VerifyFloor

urlpatterns = [
    path("bench/open", OpenView.as_view()),
    path("healthz", OpenView.as_view()),
    path("bench/lookup", LookupView.as_view()),
    path("bench/code-request", CodeRequestFloor.as_view()),
    path("bench/verify", VerifyFloor.as_view()),
]
