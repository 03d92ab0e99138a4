using Glance.Api.Hosting;
using Glance.Grains.Hosting;

var builder = WebApplication.CreateBuilder(args);

// The one-command service: this process is both the HTTP front end and a silo with
// embedded durable storage. Silo/ runs the same silo configuration without HTTP.
builder.UseOrleans(silo => silo.AddGlanceEmbedded(builder.Configuration));
builder.AddGlanceApi();

var app = builder.Build();
app.UseGlanceApi();
app.MapGlanceApi();
app.Run();

/// <summary>Visible to the HTTP tests' WebApplicationFactory.</summary>
public partial class Program;
