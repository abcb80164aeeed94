from django.urls import path

from resource_server.views import Bare, MineByIntrospection, MineByJWT

urlpatterns = [
    path("bare", Bare.as_view()),
    path("orders/mine", MineByJWT.as_view()),
    path("orders/mine/introspected", MineByIntrospection.as_view()),
]
