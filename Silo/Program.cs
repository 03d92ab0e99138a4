using Glance.Grains.Hosting;
using Microsoft.Extensions.Hosting;

// The headless silo: the same grains and storage as the API's co-hosted silo, reachable by
// Orleans clients through its gateway (Glance:GatewayPort). Multi-silo clustering on Azure
// Table storage comes with the azure profile.
var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo => silo.AddGlanceEmbedded(builder.Configuration));
builder.Build().Run();
