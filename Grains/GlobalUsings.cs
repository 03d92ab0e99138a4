global using System.Collections.Immutable;
global using Glance.Grains.Errors;
global using Glance.Grains.Identity;
global using Glance.Grains.Images;
global using Orleans;
global using Orleans.Runtime;
global using Orleans.Concurrency;
global using Glance.Grains.Extensions.PropertyProtections;
