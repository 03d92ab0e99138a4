using System.Net;
using Glance.Api.Identity;
using Glance.Grains.Telemetry;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Orleans.Dashboard;

namespace Glance.Api.Telemetry;

/// <summary>
/// Metrics, traces and logs of the API node, and the cluster dashboard. Metrics: ASP.NET Core's,
/// Orleans' and the service's own (<see cref="TelemetryHosting.AddGlanceOpenTelemetry"/>) at
/// <c>/metrics</c> for Prometheus; HTTP spans added to the grain calls' when traces are exported.
/// Every request's log lines carry its request id, project and user (<see cref="RequestTelemetry"/>).
/// </summary>
public static class TelemetryApiExtensions
{
    /// <summary>Registers the exporters and options.</summary>
    public static IHostApplicationBuilder AddGlanceTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section);
        builder.Services.AddOptions<ClusterDashboardOptions>().BindConfiguration(ClusterDashboardOptions.Section)
            .Validate(o => o.Problem() is null, $"Invalid {ClusterDashboardOptions.Section} settings (see ClusterDashboardOptions.Problem)")
            .ValidateOnStart();
        builder.Services.AddSingleton<ImageStatusGauge>();
        builder.Services.AddGlanceOpenTelemetry(builder.Configuration,
            metrics => metrics
                .AddAspNetCoreInstrumentation()
                // Each scrape reads the instruments now: two scrapes a second apart differ.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0),
            tracing => tracing.AddAspNetCoreInstrumentation());
        return builder;
    }

    /// <summary>The request's log scope: first in the pipeline, so that every line of the request is in it.</summary>
    public static WebApplication UseGlanceTelemetry(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Glance.Api.Requests");
        app.Use((context, next) => RequestTelemetry.ScopeAsync(context, next, logger));
        return app;
    }

    /// <summary>
    /// <c>/metrics</c>, and with <c>Glance:Dashboard:Enabled</c> the dashboard at <c>/dashboard/</c> on
    /// its own listener (added to the configured <c>urls</c>), answered there only: on the API's port
    /// the dashboard's paths are 404, and the dashboard's port answers nothing but the dashboard.
    /// </summary>
    public static WebApplication MapGlanceTelemetry(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value;
        if (metrics.Enabled)
        {
            var gauge = app.Services.GetRequiredService<ImageStatusGauge>();
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MetricsOptions));
            var scrape = app.MapPrometheusScrapingEndpoint(MetricsOptions.Path)
                .WithMetadata(new HttpMethodMetadata([HttpMethods.Get]))
                .WithTags("Operations").WithName("Metrics")
                .WithSummary("Metrics in Prometheus' text format (no identity unless Glance:Metrics:RequireAdmin)");
            scrape.Add(endpoint =>
            {
                var export = endpoint.RequestDelegate!;
                endpoint.RequestDelegate = async context =>
                {
                    if (metrics.RequireAdmin && !context.Caller().IsAdmin)
                    {
                        throw GlanceException.Forbidden("Metrics are for admins only.");
                    }
                    try
                    {
                        await gauge.RefreshAsync().WaitAsync(TimeSpan.FromSeconds(5), context.RequestAborted);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
                    {
                        // The other metrics are still worth a scrape; the images gauge keeps its last numbers.
                        logger.LogWarning("Counting images for /metrics failed: {Error}", e.Message);
                    }
                    await export(context);
                };
            });
            if (metrics.RequireAdmin)
            {
                scrape.WithMetadata(new IdentityRequired());
            }
        }
        var dashboard = app.Services.GetRequiredService<IOptions<ClusterDashboardOptions>>().Value;
        if (dashboard.Enabled)
        {
            MapDashboard(app, dashboard);
        }
        return app;
    }

    private static void MapDashboard(WebApplication app, ClusterDashboardOptions dashboard)
    {
        var address = IPAddress.Parse(dashboard.Address);
        // Listening in addition to the configured urls (setting app.Urls replaces them).
        if (app.Urls.Count == 0)
        {
            var urls = app.Configuration[WebHostDefaults.ServerUrlsKey] ?? "http://localhost:5000";
            foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                app.Urls.Add(url);
            }
        }
        app.Urls.Add($"http://{new IPEndPoint(address, dashboard.Port)}");
        app.Use((context, next) =>
        {
            var local = context.Connection.LocalIpAddress;
            var onDashboardPort = context.Connection.LocalPort == dashboard.Port && local is not null
                && (local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local).Equals(address);
            var path = context.Request.Path;
            if (onDashboardPort && (path == "/" || path == ClusterDashboardOptions.Path))
            {
                context.Response.Redirect(ClusterDashboardOptions.Path + "/");
                return Task.CompletedTask;
            }
            return onDashboardPort == path.StartsWithSegments(ClusterDashboardOptions.Path)
                ? next(context)
                : throw GlanceException.NotFound("The resource could not be found.");
        });
        app.MapOrleansDashboard(ClusterDashboardOptions.Path).ExcludeFromDescription();
    }
}
