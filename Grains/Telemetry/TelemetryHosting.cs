using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Dashboard;
using Orleans.Hosting;

namespace Glance.Grains.Telemetry;

/// <summary>Traces across grain calls and the dashboard's collection, for silos and clients alike.</summary>
public static class TelemetryHosting
{
    /// <summary>The resource name spans and metrics are reported under.</summary>
    public const string ServiceName = "glance-orleans";

    /// <summary>
    /// OpenTelemetry for any process of the service (API node or headless silo): Orleans' meter
    /// (<c>Microsoft.Orleans</c>) and the service's (<see cref="GlanceMetrics"/>); with
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set (the standard OTEL_* variables configure the rest),
    /// metrics, logs and spans (HTTP, grain calls, the service's own) are pushed to that collector.
    /// Spans are only made then: they cost on every request and grain call.
    /// </summary>
    public static OpenTelemetryBuilder AddGlanceOpenTelemetry(this IServiceCollection services, IConfiguration configuration,
        Action<MeterProviderBuilder>? metrics = null, Action<TracerProviderBuilder>? tracing = null)
    {
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(builder =>
            {
                builder.AddMeter("Microsoft.Orleans", GlanceMetrics.MeterName);
                metrics?.Invoke(builder);
            });
        if (!string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry
                .WithTracing(builder =>
                {
                    builder.AddSource(GlanceMetrics.MeterName, Orleans.Diagnostics.ActivitySources.AllActivitySourceName);
                    tracing?.Invoke(builder);
                })
                .UseOtlpExporter();
        }
        return telemetry;
    }

    /// <summary>
    /// Whether grain calls carry traces: <c>Glance:Traces:Enabled</c>, by default on exactly when
    /// spans are exported (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>). Off, no propagation filter runs:
    /// two of them on every grain call cost a fifth of an image GET's throughput.
    /// </summary>
    public static bool TracesGrainCalls(IConfiguration configuration) =>
        configuration.GetValue<bool?>("Glance:Traces:Enabled") ?? !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>
    /// Orleans' activity propagation when <see cref="TracesGrainCalls"/> (a grain call continues the
    /// caller's trace, so an HTTP request's trace holds its grain calls) and, with
    /// <c>Glance:Dashboard:Enabled</c>, the dashboard's statistics on this silo.
    /// </summary>
    public static ISiloBuilder AddGlanceTelemetry(this ISiloBuilder silo, IConfiguration configuration)
    {
        if (TracesGrainCalls(configuration))
        {
            silo.AddActivityPropagation();
        }
        if (Dashboard(configuration).Enabled)
        {
            silo.AddDashboard();
        }
        return silo;
    }

    /// <summary>The client side of <see cref="AddGlanceTelemetry(ISiloBuilder, IConfiguration)"/>: an API node shows the cluster's dashboard.</summary>
    public static IClientBuilder AddGlanceTelemetry(this IClientBuilder client, IConfiguration configuration)
    {
        if (TracesGrainCalls(configuration))
        {
            client.AddActivityPropagation();
        }
        if (Dashboard(configuration).Enabled)
        {
            client.AddDashboard();
        }
        return client;
    }

    private static ClusterDashboardOptions Dashboard(IConfiguration configuration)
    {
        var options = ClusterDashboardOptions.From(configuration);
        return options.Problem() is { } problem ? throw new InvalidOperationException(problem) : options;
    }
}
