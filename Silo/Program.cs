using Glance.Grains.Hosting;
using Glance.Grains.Telemetry;
using Glance.Silo.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The headless silo: the same grains and storage as the API's co-hosted silo, reachable by
// Orleans clients through its gateway (Glance:GatewayPort). With Glance:Profile=azure, any
// number of these form one cluster on Azure Table and Blob storage (README, "Operators").
// `Glance.Silo status` (same settings) prints the cluster's members as the cluster sees them.
if (args.FirstOrDefault() == "status")
{
    var clientBuilder = Host.CreateApplicationBuilder(args[1..]);
    clientBuilder.UseOrleansClient(client => client.AddGlanceAzureClient(clientBuilder.Configuration));
    using var clientHost = clientBuilder.Build();
    await clientHost.StartAsync();
    var management = clientHost.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
    foreach (var member in (await management.GetDetailedHosts(onlyActive: false)).OrderBy(m => m.StartTime))
    {
        Console.WriteLine($"{member.SiloAddress.Endpoint} {member.Status} {member.SiloName} started {member.StartTime:O}");
    }
    await clientHost.StopAsync();
    return;
}
var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo => silo.AddGlance(builder.Configuration));
// Orleans' and the service's metrics (and spans, logs) to an OpenTelemetry collector when OTEL_EXPORTER_OTLP_ENDPOINT is set,
// and for Prometheus at /metrics on a loopback port of the silo's own when Glance:Metrics:Port is set.
builder.Services.AddGlanceOpenTelemetry(builder.Configuration, metrics => SiloMetricsListener.AddTo(builder, metrics));
builder.Build().Run();
